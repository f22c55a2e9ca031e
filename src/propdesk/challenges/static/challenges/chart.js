/* A stage's equity curve, drawn by uPlot (vendored: static/vendor/uplot/, see its README).
 *
 * <figure data-chart="ID"> reads the JSON in <script id="ID" type="application/json">
 * (challenges.monitoring.curve.chart_data):
 *   {"currency": "USD", "time_zone": "Europe/Prague",
 *    "points": [{"t": "...Z", "low": "99500.00", "high": "100200.00",
 *                "equity": "100100.00", "balance": "100000.00"}, ...],   (5-minute buckets)
 *    "lines": [{"key": "daily", "label": "Daily-loss floor", "value": "95000.00"}, ...]}
 * and draws the equity line over its bucket's low-high band, the balance line, and one dashed
 * horizontal line per floor and target, each named in the legend. The legend reads the figures
 * under the pointer (the latest ones when the pointer is elsewhere); dragging across the chart
 * zooms in on that time, a double-click (or the "whole curve" button) shows it all again. The
 * chart follows its box's width, down to a phone's.
 *
 * Amounts come as text (exact decimals): the legend shows that text, only the drawing turns it
 * into numbers. The figure's caption and table (rendered by the server) say the same in words
 * for whoever cannot see the chart. A file of its own, not an inline script: the
 * Content-Security-Policy runs scripts from our origin only.
 */
(function () {
  "use strict";

  var BUCKET_SECONDS = 5 * 60;
  var COLOURS = {
    equity: "#1f6feb",
    band: "rgba(31, 111, 235, 0.16)",
    bandEdge: "rgba(31, 111, 235, 0.45)",
    balance: "#57606a",
    target: "#1a7f37",
    daily: "#bc4c00",
    max: "#cf222e",
    grid: "#d8dee4",
    text: "#424a53",
  };
  // The time axis' steps: a minute at the finest (the curve's buckets are five minutes).
  var DAY = 86400;
  var TIME_STEPS = [
    60, 120, 300, 600, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
    DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 180 * DAY, 365 * DAY,
  ];
  var SMALLEST_HEIGHT = 220;
  var LARGEST_HEIGHT = 380;

  // "100000.50" -> "100,000.50": the exact decimal, grouped as the back office writes money.
  function grouped(text) {
    if (text === null || text === undefined || text === "") {
      return "—";
    }
    var negative = text.charAt(0) === "-";
    var bare = negative ? text.slice(1) : text;
    var dot = bare.indexOf(".");
    var whole = dot < 0 ? bare : bare.slice(0, dot);
    var rest = dot < 0 ? "" : bare.slice(dot);
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (negative ? "-" : "") + whole + rest;
  }

  var axisAmount = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });

  // The zone the page writes times in; a zone the browser does not know reads as UTC.
  function knownZone(zone) {
    try {
      new Intl.DateTimeFormat("en-GB", { timeZone: zone });
      return zone;
    } catch (e) {
      return "UTC";
    }
  }

  // Times as the pages write them: "2026-11-20 08:05", "2026-11", "11-20" or "08:05".
  function timeParts(zone) {
    var format = new Intl.DateTimeFormat("en-GB", {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: zone,
    });
    return function (seconds) {
      var parts = {};
      format.formatToParts(new Date(seconds * 1000)).forEach(function (part) {
        parts[part.type] = part.value;
      });
      return {
        month: parts.year + "-" + parts.month,
        day: parts.month + "-" + parts.day,
        full: parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute,
        time: parts.hour + ":" + parts.minute,
      };
    };
  }

  function read(data) {
    var points = (data.points || []).filter(function (p) {
      return !isNaN(Date.parse(p.t));
    });
    if (points.length === 1) {
      // One bucket: drawn across its five minutes (to where it ends), so its lines show.
      var end = new Date(Date.parse(points[0].t) + BUCKET_SECONDS * 1000).toISOString();
      points = [points[0], Object.assign({}, points[0], { t: end })];
    }
    var lines = (data.lines || []).filter(function (l) {
      return l && l.value !== null && l.value !== undefined && !isNaN(Number(l.value));
    });
    return { points: points, lines: lines };
  }

  // The columns uPlot draws, and beside each the text its legend shows.
  function columns(points, lines) {
    var names = ["equity", "balance", "low", "high"];
    var numbers = [points.map(function (p) { return Date.parse(p.t) / 1000; })];
    var texts = [null];
    names.forEach(function (name) {
      numbers.push(points.map(function (p) { return Number(p[name]); }));
      texts.push(points.map(function (p) { return p[name]; }));
    });
    lines.forEach(function (l) {
      var value = Number(l.value);
      numbers.push(points.map(function () { return value; }));
      texts.push(points.map(function () { return l.value; }));
    });
    return { numbers: numbers, texts: texts };
  }

  function heightFor(width) {
    return Math.round(Math.max(SMALLEST_HEIGHT, Math.min(LARGEST_HEIGHT, width * 0.5)));
  }

  function draw(figure, data) {
    // The page gives the legend's words in the reader's language (data-words-*).
    var said = figure.dataset;
    var plot = figure.querySelector("[data-chart-plot]") || figure;
    var found = read(data);
    var points = found.points;
    var lines = found.lines;
    plot.textContent = "";
    if (!points.length) {
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.setAttribute("data-chart-empty", "");
      empty.textContent = said.wordsEmpty ||
        "No equity figures yet: the curve starts with the account's first event.";
      plot.appendChild(empty);
      figure.setAttribute("data-drawn", "empty");
      return null;
    }
    var zone = knownZone(data.time_zone || "UTC");
    var when = timeParts(zone);
    var currency = data.currency ? " (" + data.currency + ")" : "";
    var cols = columns(points, lines);
    var last = points.length - 1;

    // The figure under the pointer, or the latest one with the pointer elsewhere.
    function shown(texts) {
      return function (u, raw, seriesIdx, idx) {
        return grouped(texts[idx === null || idx === undefined ? last : idx]);
      };
    }

    var keys = ["time", "equity", "balance", "low", "high"];
    var series = [
      {
        label: (said.wordsTime || "Time") + " (" + zone + ")",
        value: function (u, raw, seriesIdx, idx) {
          return when(cols.numbers[0][idx === null || idx === undefined ? last : idx]).full;
        },
      },
      {
        label: (said.wordsEquity || "Equity") + currency, stroke: COLOURS.equity, width: 2,
        value: shown(cols.texts[1]),
      },
      {
        label: said.wordsBalance || "Balance", stroke: COLOURS.balance, width: 1.5,
        points: { show: false }, value: shown(cols.texts[2]),
      },
      {
        label: said.wordsLow || "Lowest equity (5 min)", stroke: COLOURS.bandEdge, width: 1,
        points: { show: false }, value: shown(cols.texts[3]),
      },
      {
        label: said.wordsHigh || "Highest equity (5 min)", stroke: COLOURS.bandEdge, width: 1,
        points: { show: false }, value: shown(cols.texts[4]),
      },
    ];
    lines.forEach(function (l, i) {
      keys.push(l.key);
      series.push({
        label: l.label,
        stroke: COLOURS[l.key] || COLOURS.text,
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        value: shown(cols.texts[5 + i]),
      });
    });

    var width = Math.max(plot.clientWidth, 200);
    var options = {
      width: width,
      height: heightFor(width),
      series: series,
      bands: [{ series: [4, 3], fill: COLOURS.band }],
      tzDate: function (seconds) {
        return uPlot.tzDate(new Date(seconds * 1000), zone);
      },
      scales: {
        x: { time: true },
      },
      axes: [
        {
          stroke: COLOURS.text,
          grid: { stroke: COLOURS.grid, width: 1 },
          ticks: { stroke: COLOURS.grid, width: 1 },
          space: 70,
          incrs: TIME_STEPS,
          // "08:00", and the day under the first time of each day; days alone when ticks are
          // a day or more apart, months when a month or more.
          values: function (u, splits, axisIdx, space, incr) {
            var previous = "";
            return splits.map(function (seconds) {
              var at = when(seconds);
              if (incr >= 28 * DAY) {
                return at.month;
              }
              if (incr >= DAY) {
                return at.day;
              }
              var label = at.day !== previous ? at.time + "\n" + at.day : at.time;
              previous = at.day;
              return label;
            });
          },
        },
        {
          stroke: COLOURS.text,
          grid: { stroke: COLOURS.grid, width: 1 },
          ticks: { stroke: COLOURS.grid, width: 1 },
          size: 78,
          values: function (u, splits) {
            return splits.map(function (v) { return axisAmount.format(v); });
          },
        },
      ],
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      hooks: {
        setScale: [
          function (u, key) {
            if (key === "x") {
              zoomed(figure, u, cols.numbers[0], when);
            }
          },
        ],
      },
    };

    var chart = new uPlot(options, cols.numbers, plot);
    chart.root.setAttribute("aria-hidden", "true"); // the caption and the table say it in words
    chart.root.querySelectorAll(".u-legend .u-series").forEach(function (row, i) {
      row.setAttribute("data-series", keys[i]);
    });
    figure.setAttribute("data-drawn", "chart");
    zoomed(figure, chart, cols.numbers[0], when);
    follow(plot, chart);
    var whole = figure.querySelector("[data-chart-reset]");
    if (whole) {
      whole.addEventListener("click", function () {
        chart.setScale("x", { min: cols.numbers[0][0], max: cols.numbers[0][last] });
      });
    }
    return chart;
  }

  // Says which stretch of time is shown once zoomed in, and offers the whole curve back.
  function zoomed(figure, u, times, when) {
    var first = times[0];
    var lastTime = times[times.length - 1];
    var min = u.scales.x.min;
    var max = u.scales.x.max;
    var isZoomed = min !== null && max !== null && (min > first + 1 || max < lastTime - 1);
    figure.setAttribute("data-zoomed", isZoomed ? "true" : "false");
    var note = figure.querySelector("[data-chart-zoom]");
    var reset = figure.querySelector("[data-chart-reset]");
    if (note) {
      note.hidden = !isZoomed;
      var words = note.querySelector("[data-chart-zoom-range]");
      if (words && isZoomed) {
        words.textContent = when(min).full + " to " + when(max).full;
      }
    }
    if (reset) {
      reset.hidden = !isZoomed;
    }
  }

  // Resize with the box the chart sits in (a phone turned, a window narrowed).
  function follow(box, chart) {
    if (typeof ResizeObserver === "undefined") {
      return;
    }
    var seen = box.clientWidth;
    new ResizeObserver(function () {
      var width = Math.max(box.clientWidth, 200);
      if (width !== seen) {
        seen = width;
        chart.setSize({ width: width, height: heightFor(width) });
      }
    }).observe(box);
  }

  function start() {
    if (typeof uPlot === "undefined") {
      return; // the library did not load: the caption and the table still say it all
    }
    document.querySelectorAll("figure[data-chart]").forEach(function (figure) {
      var source = document.getElementById(figure.getAttribute("data-chart"));
      if (!source || figure.getAttribute("data-drawn")) {
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
