// The web terminal's price chart: the selected instrument's recent bids, as a line. It loads
// what the sandbox kept (one bid per interval, the last 30 minutes) when the page opens and
// when another symbol is chosen, then adds each bid the terminal's poll brings (terminal.js
// sends them as a "terminal:quotes" event): a new point per interval, the last one moved
// within it. Prices stay text for the figures; only the line's height is a number.
(() => {
  "use strict";

  const root = document.getElementById("terminal");
  const section = document.getElementById("chart");
  if (!root || !section) return;

  const WIDTH = 600;
  const HEIGHT = 160;
  const PAD = 6;
  const MAX_POINTS = 240;
  const svg = document.getElementById("price-chart");
  const line = document.getElementById("chart-line");
  const symbolSelect = document.querySelector("#order-form select[name='symbol']");
  let symbol = "";
  let points = []; // {at: ms, bid: "1.08500"}
  let intervalMs = 10000;
  let loading = 0;

  function setText(id, text) {
    const element = document.getElementById(id);
    if (element && element.textContent !== text) element.textContent = text;
  }

  function draw() {
    svg.dataset.points = String(points.length);
    if (!points.length) {
      line.setAttribute("points", "");
      for (const id of ["chart-low", "chart-high", "chart-last"]) setText(id, "—");
      return;
    }
    const values = points.map((p) => Number(p.bid));
    let low = 0;
    let high = 0;
    values.forEach((v, i) => {
      if (v < values[low]) low = i;
      if (v > values[high]) high = i;
    });
    const span = values[high] - values[low] || 1;
    const step = points.length > 1 ? (WIDTH - 2 * PAD) / (points.length - 1) : 0;
    const coordinates = values.map((v, i) => {
      const x = points.length > 1 ? PAD + i * step : WIDTH / 2;
      const y = HEIGHT - PAD - ((v - values[low]) / span) * (HEIGHT - 2 * PAD);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    });
    if (coordinates.length === 1) coordinates.push(coordinates[0]); // a dot, not nothing
    line.setAttribute("points", coordinates.join(" "));
    setText("chart-low", points[low].bid);
    setText("chart-high", points[high].bid);
    setText("chart-last", points[points.length - 1].bid);
  }

  function add(bid, at) {
    const last = points[points.length - 1];
    if (last && Math.floor(last.at / intervalMs) === Math.floor(at / intervalMs)) {
      last.bid = bid;
      last.at = Math.max(last.at, at);
    } else {
      points.push({ at, bid });
      if (points.length > MAX_POINTS) points.shift();
    }
    draw();
  }

  async function load(wanted) {
    symbol = wanted;
    setText("chart-symbol", wanted);
    const ticket = ++loading;
    points = [];
    draw();
    if (!wanted) return;
    try {
      const url = `${section.dataset.chartUrl}?symbol=${encodeURIComponent(wanted)}`;
      const response = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "application/json" },
      });
      if (!response.ok || ticket !== loading) return;
      const history = await response.json();
      if (ticket !== loading) return;
      intervalMs = (history.interval_seconds || 10) * 1000;
      const kept = history.points.map((p) => ({ at: Date.parse(p.t), bid: p.bid }));
      const live = points; // what the poll added while this loaded comes after
      points = kept.concat(live.filter((p) => !kept.length || p.at > kept[kept.length - 1].at));
      draw();
    } catch (error) {
      // The line goes on from the polled prices.
    }
  }

  root.addEventListener("terminal:quotes", (event) => {
    const quote = event.detail[symbol];
    if (quote && quote.bid) add(quote.bid, Date.now());
  });
  if (symbolSelect) symbolSelect.addEventListener("change", () => load(symbolSelect.value));
  load(symbolSelect ? symbolSelect.value : "");
})();
