// The web terminal's live parts. Every second it asks the state endpoint for the account's
// figures, the quotes and the open positions, and writes them into the page. Money and prices
// arrive as text and nothing here turns them into numbers: prices are shown as they are, money
// (the elements marked data-money) with its thousands grouped as the pages show amounts in the
// page's language (the root's data-decimal and data-thousands: 12,345.67 or 12.345,67). When a
// position opens or closes, or a deal is made, it fetches the positions and history tables as
// the server renders them and swaps them in.
(() => {
  "use strict";

  const PERIOD_MS = 1000;
  const root = document.getElementById("terminal");

  // A form posts once: a double click on Buy must not open two positions.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !("submitOnce" in form.dataset)) return;
    if (form.dataset.sent) {
      event.preventDefault();
    } else {
      form.dataset.sent = "1";
    }
  });
  window.addEventListener("pageshow", () => {
    for (const form of document.querySelectorAll("form[data-sent]")) delete form.dataset.sent;
  });

  if (!root) return;

  const stateUrl = root.dataset.stateUrl;
  const tablesUrl = root.dataset.tablesUrl;
  const loginUrl = root.dataset.loginUrl;
  const status = document.getElementById("terminal-status");
  const symbolSelect = document.querySelector("#order-form select[name='symbol']");
  let quotes = {};
  let refreshing = false;

  function setText(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  // A decimal written as text, its whole part grouped in threes by commas: "-12345.60" reads
  // "-12,345.60", never "-0.00"; anything else stays as it is.
  function grouped(amount) {
    const match = /^(-?)([0-9]+)(\.[0-9]+)?$/.exec(amount);
    if (!match) return amount;
    const sign = /[1-9]/.test(amount) ? match[1] : "";
    const thousands = root.dataset.thousands || ",";
    const decimals = match[3] ? (root.dataset.decimal || ".") + match[3].slice(1) : "";
    return sign + match[2].replace(/\B(?=(?:[0-9]{3})+$)/g, thousands) + decimals;
  }

  function asShown(element, text) {
    return element && "money" in element.dataset ? grouped(text) : text;
  }

  // The order of two non-negative decimals written with as many decimals each, as text.
  function compare(a, b) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function trend(amount) {
    if (amount.startsWith("-")) return "loss";
    return /[1-9]/.test(amount) ? "gain" : "";
  }

  function showAccount(account) {
    for (const element of root.querySelectorAll("[data-account]")) {
      const value = account[element.dataset.account];
      if (typeof value === "string") {
        setText(element, asShown(element, value) || element.dataset.empty || "");
      }
    }
  }

  function showQuotes(list) {
    quotes = {};
    for (const quote of list) {
      quotes[quote.symbol] = quote;
      const row = root.querySelector(`#quotes tr[data-symbol="${CSS.escape(quote.symbol)}"]`);
      if (!row) continue;
      for (const side of ["bid", "ask"]) {
        const cell = row.querySelector(`[data-field="${side}"]`);
        const before = cell.textContent;
        if (before === quote[side]) continue;
        const move = before ? compare(quote[side], before) : 0;
        cell.classList.toggle("up", move > 0);
        cell.classList.toggle("down", move < 0);
        cell.textContent = quote[side];
      }
    }
    showOrderPrices();
    // For the price chart (terminal_chart.js): the quotes as they just arrived.
    root.dispatchEvent(new CustomEvent("terminal:quotes", { detail: quotes }));
  }

  function showOrderPrices() {
    const quote = symbolSelect ? quotes[symbolSelect.value] : undefined;
    for (const element of root.querySelectorAll("[data-order-price]")) {
      setText(element, quote ? quote[element.dataset.orderPrice] : "—");
    }
  }

  function showPositions(positions, lastDeal) {
    const shown = Array.from(
      root.querySelectorAll("#positions tr[data-position]"),
      (row) => row.dataset.position,
    );
    const history = document.getElementById("history");
    const changed =
      shown.join(",") !== positions.map((p) => p.id).join(",") ||
      (history && history.dataset.lastDeal !== String(lastDeal ?? ""));
    if (changed) {
      refreshTables();
      return;
    }
    for (const position of positions) {
      const row = root.querySelector(`#positions tr[data-position="${CSS.escape(position.id)}"]`);
      setText(row.querySelector('[data-field="current_price"]'), position.current_price);
      const profit = row.querySelector('[data-field="profit"]');
      setText(profit, asShown(profit, position.profit));
      profit.classList.remove("gain", "loss");
      if (position.trend) profit.classList.add(position.trend);
    }
  }

  async function refreshTables() {
    if (refreshing) return;
    refreshing = true;
    try {
      const response = await fetch(tablesUrl, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) {
        window.location.assign(loginUrl);
        return;
      }
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of ["positions", "history"]) {
        const replacement = fresh.getElementById(id);
        const current = document.getElementById(id);
        if (replacement && current) current.replaceWith(document.importNode(replacement, true));
      }
    } catch (error) {
      // The next poll sees the difference again and retries.
    } finally {
      refreshing = false;
    }
  }

  function showStatus(live) {
    // The page gives the words in the client's language (data-live, data-lost).
    const words = status.dataset;
    setText(status, live ? words.live || "live" : words.lost || "connection lost, retrying…");
    status.classList.toggle("offline", !live);
  }

  async function poll() {
    if (!document.hidden) {
      try {
        const response = await fetch(stateUrl, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { Accept: "application/json" },
        });
        if (response.status === 401) {
          window.location.assign(loginUrl);
          return;
        }
        if (!response.ok) throw new Error(`state: HTTP ${response.status}`);
        const state = await response.json();
        showAccount(state.account);
        showQuotes(state.quotes);
        showPositions(state.positions, state.last_deal);
        showStatus(true);
      } catch (error) {
        showStatus(false);
      }
    }
    window.setTimeout(poll, PERIOD_MS);
  }

  // A click on a quote picks its symbol for the next order.
  root.querySelector("#quotes tbody").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-symbol]");
    if (row && symbolSelect) {
      symbolSelect.value = row.dataset.symbol;
      symbolSelect.dispatchEvent(new Event("change"));
    }
  });
  if (symbolSelect) symbolSelect.addEventListener("change", showOrderPrices);

  poll();
})();
