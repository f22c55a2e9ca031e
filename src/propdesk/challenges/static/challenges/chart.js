/* A stage's equity curve, drawn as SVG without a library.
 *
 * <figure data-chart="ID"> reads the JSON in <script id="ID" type="application/json">:
 *   {"currency": "USD", "time_zone": "UTC",
 *    "points": [{"t": "...Z", "low": "99500.00", "high": "100200.00",
 *                "equity": "100100.00", "balance": "100000.00"}, ...],   (5-minute buckets)
 *    "lines": [{"key": "daily", "label": "Daily-loss floor", "value": "95000.00"}, ...]}
 * and draws the equity line over its bucket's low-high band, the balance line, and one
 * horizontal line per floor and target, with labelled axes and a legend. Amounts come as text
 * (exact decimals); they become numbers here only to be placed on the screen.
 */
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var W = 900;
  var H = 380;
  var M = { top: 44, right: 150, bottom: 52, left: 92 };
  var BUCKET_MS = 5 * 60 * 1000;
  var COLOURS = {
    equity: "#1f6feb",
    band: "rgba(31, 111, 235, 0.18)",
    balance: "#57606a",
    target: "#1a7f37",
    daily: "#bc4c00",
    max: "#cf222e",
    grid: "#d0d7de",
    text: "#424a53",
  };

  function node(name, attrs, text) {
    var made = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (key) {
      made.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) {
      made.textContent = text;
    }
    return made;
  }

  function niceStep(span, count) {
    var raw = span / count;
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / magnitude;
    var step = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    return step * magnitude;
  }

  function amount(value) {
    return value.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 2 });
  }

  // Times read as the back office writes them ("11-20 08:00", or "08:00" within a day), in
  // the firm's time zone (UTC when the browser does not know it).
  function timeFormat(zone, withDate) {
    var options = {
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: zone,
    };
    var format;
    try {
      format = new Intl.DateTimeFormat("en-GB", options);
    } catch (e) {
      options.timeZone = "UTC";
      format = new Intl.DateTimeFormat("en-GB", options);
    }
    return function (date) {
      var parts = {};
      format.formatToParts(date).forEach(function (part) {
        parts[part.type] = part.value;
      });
      var time = parts.hour + ":" + parts.minute;
      return withDate ? parts.month + "-" + parts.day + " " + time : time;
    };
  }

  function polyline(points, x, y, key, colour, width) {
    var path = points.map(function (p) {
      return x(p.t).toFixed(1) + "," + y(p[key]).toFixed(1);
    });
    return node("polyline", {
      points: path.join(" "),
      fill: "none",
      stroke: colour,
      "stroke-width": width,
      "stroke-linejoin": "round",
      "data-series": key,
    });
  }

  function legend(svg, entries) {
    var left = M.left;
    entries.forEach(function (entry) {
      var group = node("g", { "data-legend": entry.key });
      if (entry.band) {
        group.appendChild(node("rect", { x: left, y: 14, width: 18, height: 10, fill: entry.colour }));
      } else {
        group.appendChild(
          node("line", {
            x1: left, y1: 19, x2: left + 18, y2: 19,
            stroke: entry.colour, "stroke-width": 2.5,
            "stroke-dasharray": entry.dashed ? "6 4" : "none",
          })
        );
      }
      group.appendChild(node("text", { x: left + 24, y: 23, "font-size": 12, fill: COLOURS.text }, entry.label));
      svg.appendChild(group);
      left += 34 + entry.label.length * 6.6;
    });
  }

  function draw(figure, data) {
    var points = (data.points || []).map(function (p) {
      return {
        t: Date.parse(p.t),
        low: Number(p.low),
        high: Number(p.high),
        equity: Number(p.equity),
        balance: Number(p.balance),
      };
    });
    var lines = (data.lines || []).map(function (l) {
      return { key: l.key, label: l.label, value: Number(l.value) };
    });
    figure.textContent = "";
    if (!points.length) {
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = "No equity snapshots yet: the curve starts with the account's first event.";
      figure.appendChild(empty);
      return;
    }
    var currency = data.currency || "";
    var zone = data.time_zone || "UTC";

    var values = [];
    points.forEach(function (p) {
      values.push(p.low, p.high, p.balance, p.equity);
    });
    lines.forEach(function (l) {
      values.push(l.value);
    });
    var low = Math.min.apply(null, values);
    var high = Math.max.apply(null, values);
    if (high === low) {
      high += 1;
      low -= 1;
    }
    var pad = (high - low) * 0.06;
    var step = niceStep(high - low + 2 * pad, 6);
    var yMin = Math.floor((low - pad) / step) * step;
    var yMax = Math.ceil((high + pad) / step) * step;
    var tMin = points[0].t;
    var tMax = Math.max(points[points.length - 1].t + BUCKET_MS, tMin + BUCKET_MS);

    var plotW = W - M.left - M.right;
    var plotH = H - M.top - M.bottom;
    var x = function (t) {
      return M.left + ((t - tMin) / (tMax - tMin)) * plotW;
    };
    var y = function (v) {
      return M.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;
    };

    var svg = node("svg", {
      viewBox: "0 0 " + W + " " + H,
      width: "100%",
      role: "img",
      "aria-label": figure.getAttribute("aria-label") || "Equity curve",
      "font-family": "system-ui, sans-serif",
    });

    // The amount axis, with its grid.
    for (var v = yMin; v <= yMax + step / 2; v += step) {
      svg.appendChild(node("line", { x1: M.left, x2: M.left + plotW, y1: y(v), y2: y(v), stroke: COLOURS.grid, "stroke-width": 1 }));
      svg.appendChild(node("text", { x: M.left - 8, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: COLOURS.text }, amount(v)));
    }
    svg.appendChild(
      node("text", {
        x: 16, y: M.top + plotH / 2, "text-anchor": "middle", "font-size": 12, fill: COLOURS.text,
        transform: "rotate(-90 16 " + (M.top + plotH / 2) + ")",
      }, "Equity and balance" + (currency ? " (" + currency + ")" : ""))
    );

    // The time axis: about six ticks, with the date when the curve spans more than a day.
    var withDate = tMax - tMin > 20 * 60 * 60 * 1000;
    var format = timeFormat(zone, withDate);
    var ticks = Math.min(6, Math.max(1, Math.round(plotW / 140)));
    for (var i = 0; i <= ticks; i++) {
      var t = tMin + ((tMax - tMin) * i) / ticks;
      svg.appendChild(node("line", { x1: x(t), x2: x(t), y1: M.top + plotH, y2: M.top + plotH + 5, stroke: COLOURS.text }));
      svg.appendChild(node("text", { x: x(t), y: M.top + plotH + 18, "text-anchor": "middle", "font-size": 11, fill: COLOURS.text }, format(new Date(t))));
    }
    svg.appendChild(node("line", { x1: M.left, x2: M.left + plotW, y1: M.top + plotH, y2: M.top + plotH, stroke: COLOURS.text }));
    svg.appendChild(node("line", { x1: M.left, x2: M.left, y1: M.top, y2: M.top + plotH, stroke: COLOURS.text }));
    svg.appendChild(node("text", { x: M.left + plotW / 2, y: H - 8, "text-anchor": "middle", "font-size": 12, fill: COLOURS.text }, "Time (" + zone + ")"));

    // Each bucket's low-high band, then the balance and equity lines.
    var band = points.map(function (p) {
      return x(p.t).toFixed(1) + "," + y(p.high).toFixed(1);
    });
    points.slice().reverse().forEach(function (p) {
      band.push(x(p.t).toFixed(1) + "," + y(p.low).toFixed(1));
    });
    if (points.length === 1) {
      // One bucket: give it its width, so its band and lines show.
      var only = points[0];
      points = [only, { t: only.t + BUCKET_MS, low: only.low, high: only.high, equity: only.equity, balance: only.balance }];
      band = [
        x(only.t) + "," + y(only.high), x(only.t + BUCKET_MS) + "," + y(only.high),
        x(only.t + BUCKET_MS) + "," + y(only.low), x(only.t) + "," + y(only.low),
      ];
    }
    svg.appendChild(node("polygon", { points: band.join(" "), fill: COLOURS.band, stroke: "none", "data-series": "band" }));
    svg.appendChild(polyline(points, x, y, "balance", COLOURS.balance, 1.5));
    svg.appendChild(polyline(points, x, y, "equity", COLOURS.equity, 2));

    // The floors and the target, labelled at the right (labels kept apart when lines are close).
    var labels = lines
      .map(function (l) {
        return { line: l, at: y(l.value) };
      })
      .sort(function (a, b) {
        return a.at - b.at;
      });
    var previous = -Infinity;
    labels.forEach(function (item) {
      var l = item.line;
      var colour = COLOURS[l.key] || COLOURS.text;
      svg.appendChild(node("line", {
        x1: M.left, x2: M.left + plotW, y1: item.at, y2: item.at,
        stroke: colour, "stroke-width": 1.5, "stroke-dasharray": "6 4", "data-line": l.key,
      }));
      var labelY = Math.max(item.at + 4, previous + 13);
      previous = labelY;
      svg.appendChild(node("text", { x: M.left + plotW + 6, y: labelY, "font-size": 11, fill: colour }, l.label + " " + amount(l.value)));
    });

    var entries = [
      { key: "equity", label: "Equity", colour: COLOURS.equity },
      { key: "band", label: "Equity low\u2013high (5 min)", colour: COLOURS.band, band: true },
      { key: "balance", label: "Balance", colour: COLOURS.balance },
    ];
    lines.forEach(function (l) {
      entries.push({ key: l.key, label: l.label, colour: COLOURS[l.key] || COLOURS.text, dashed: true });
    });
    legend(svg, entries);
    figure.appendChild(svg);
  }

  function start() {
    document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
      var source = document.getElementById(figure.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      draw(figure, JSON.parse(source.textContent));
    });
  }

  window.propdeskChart = { draw: draw };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
