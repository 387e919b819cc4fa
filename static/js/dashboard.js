/* The dashboard's equity curve (lightweight-charts v5): a baseline chart around the range's opening
   equity (above it in the theme's gain colour, below in the loss colour), range buttons that fetch
   /api/v1/accounts/{id}/equity?range= (without JavaScript they are links that reload the page), the
   curve read again whenever live-sections.js has re-rendered the fill sections (after a fill of the
   user's stream, a resync or the page's own order), and the last point following the summary's live
   equity on quote ticks. The server's SVG line stays when the library is missing.
   Data: the first range arrives in <script id="equity-data" type="application/json">. */
(function () {
  "use strict";

  var LWC = window.LightweightCharts;
  var tradeapp = window.tradeapp;
  var theme = tradeapp && tradeapp.chartTheme;
  var box = document.getElementById("equity-chart");
  var dataEl = document.getElementById("equity-data");
  if (!LWC || !theme || !box || !dataEl) return;

  var URL_BASE = box.getAttribute("data-url");
  var TICK_EVERY_MS = 1000;
  var statusEl = document.getElementById("equity-status");
  var changeEl = document.getElementById("equity-change");
  var rangesEl = document.getElementById("equity-ranges");
  var card = document.getElementById("equity");

  var state = { range: box.getAttribute("data-range"), curve: null, points: [], loadId: 0 };
  var lastTick = 0;

  /* --- colours (chart-theme.js) ------------------------------------------------------------------ */
  var palette = theme.palette;
  var seriesColors = theme.baselineColors;

  function chartOptions(colors) {
    return theme.chartOptions(colors, {
      rightPriceScale: { scaleMargins: { top: 0.12, bottom: 0.08 } },
      handleScroll: { vertTouchDrag: false },
    });
  }

  var colors = palette();
  var chart = LWC.createChart(box, chartOptions(colors));
  var series = chart.addSeries(
    LWC.BaselineSeries,
    Object.assign(
      {
        baseValue: { type: "price", price: 0 },
        lineWidth: 2,
        priceFormat: { type: "price", precision: 2, minMove: 0.01 },
        priceLineVisible: false,
      },
      seriesColors(colors)
    )
  );
  box.classList.add("has-chart");

  /* --- numbers and time --------------------------------------------------------------------- */
  function parse(text) {
    if (text === null || text === undefined || text === "") return NaN;
    return Number(String(text).replace(/,/g, ""));
  }

  function money(value, signed) {
    if (!Number.isFinite(value)) return "—";
    var text = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
    return (signed && value > 0 ? "+" : "") + text;
  }

  /* snapshots are moments in UTC; the chart shows the viewer's clock */
  function chartTime(iso) {
    var seconds = Math.floor(Date.parse(iso) / 1000);
    return seconds - new Date(seconds * 1000).getTimezoneOffset() * 60;
  }

  function toPoints(curve) {
    var points = [];
    (curve.points || []).forEach(function (row) {
      var point = { time: chartTime(row.time), value: parse(row.equity) };
      if (!Number.isFinite(point.value)) return;
      var last = points[points.length - 1];
      if (last && point.time <= last.time) {
        points[points.length - 1] = { time: last.time, value: point.value }; // one point per second
      } else {
        points.push(point);
      }
    });
    return points;
  }

  /* --- drawing ------------------------------------------------------------------------------ */
  function setStatus(text) {
    if (statusEl) statusEl.textContent = text || "";
  }

  function showChange(curve) {
    if (!changeEl) return;
    var change = parse(curve.change);
    var value = changeEl.querySelector('[data-field="change"]');
    if (value) {
      value.textContent = "";
      value.appendChild(document.createTextNode(money(change, true) + " " + (curve.currency || "") + " "));
      var pct = document.createElement("span");
      pct.className = "stat-pct";
      var pctValue = parse(curve.change_pct);
      pct.textContent = "(" + (Number.isFinite(pctValue) ? (pctValue > 0 ? "+" : "") + pctValue.toFixed(2) + "%" : "—") + ")";
      value.appendChild(pct);
      value.classList.toggle("pos", change > 0);
      value.classList.toggle("neg", change < 0);
    }
    var link = rangesEl && rangesEl.querySelector('[data-range="' + curve.range + '"]');
    var description = changeEl.querySelector('[data-field="range-description"]');
    if (description && link) description.textContent = link.getAttribute("data-description") || "";
    if (card) {
      var start = card.querySelector('[data-field="start-equity"]');
      var end = card.querySelector('[data-field="end-equity"]');
      if (start) start.textContent = money(parse(curve.start_equity));
      if (end) end.textContent = money(parse(curve.end_equity));
    }
  }

  function draw(curve) {
    state.curve = curve;
    state.points = toPoints(curve);
    series.applyOptions({ baseValue: { type: "price", price: parse(curve.start_equity) } });
    series.setData(state.points);
    chart.timeScale().fitContent();
    showChange(curve);
    box.setAttribute("data-range", curve.range);
    box.setAttribute("data-points", String(state.points.length));
    var last = state.points[state.points.length - 1];
    box.setAttribute("data-last", last ? last.value.toFixed(2) : "");
    box.setAttribute(
      "aria-label",
      "Equity curve, " + (changeEl ? changeEl.querySelector('[data-field="range-description"]').textContent : curve.range) +
        ", from " + money(parse(curve.start_equity)) + " to " + money(parse(curve.end_equity)) + " " + (curve.currency || "")
    );
    setStatus(state.points.length > 1 ? "" : "No history in this range yet.");
  }

  function markRange(range) {
    if (!rangesEl) return;
    rangesEl.querySelectorAll("[data-range]").forEach(function (link) {
      if (link.getAttribute("data-range") === range) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    });
  }

  function load(range, quiet) {
    var id = ++state.loadId;
    if (!quiet) setStatus("Loading…");
    return tradeapp.api.get(URL_BASE + "?range=" + encodeURIComponent(range))
      .then(function (curve) {
        if (id !== state.loadId) return; // a later range or refresh has been asked for
        state.range = curve.range;
        draw(curve);
      })
      .catch(function (error) {
        if (id === state.loadId) setStatus("Could not load the equity curve: " + error.message);
      });
  }

  /* --- range buttons (links without JavaScript) -------------------------------------------- */
  if (rangesEl) {
    rangesEl.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("a[data-range]");
      if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      var range = link.getAttribute("data-range");
      markRange(range);
      state.range = range;
      try {
        // the address keeps the range: a reload, and the live sections' refresh, render the same one
        var url = new URL(window.location.href);
        url.searchParams.set("range", range);
        url.hash = "";
        window.history.replaceState(window.history.state, "", url.pathname + url.search);
      } catch (error) {
        /* an old browser: the range just is not remembered */
      }
      load(range, false);
    });
  }

  /* --- live --------------------------------------------------------------------------------- */
  /* the curve ends with the live valuation: when the server re-rendered what a fill changes, read it */
  document.addEventListener("tradeapp:refreshed", function (event) {
    var sections = (event.detail && event.detail.sections) || [];
    var filled = sections.some(function (section) {
      return (section.getAttribute("data-live") || "").split(/\s+/).indexOf("fill") >= 0;
    });
    if (filled) load(state.range, true);
  });

  /* the summary's equity, which orders.js revalues on every quote tick, becomes the live last point */
  function followSummary() {
    var now = Date.now();
    if (now - lastTick < TICK_EVERY_MS || !state.points.length) return;
    var equityEl = document.querySelector('[data-summary-field="equity"]');
    var equity = equityEl ? parse(equityEl.firstChild && equityEl.firstChild.textContent) : NaN;
    if (!Number.isFinite(equity)) return;
    lastTick = now;
    var seconds = Math.floor(now / 1000);
    var time = seconds - new Date(seconds * 1000).getTimezoneOffset() * 60;
    var last = state.points[state.points.length - 1];
    var point = { time: Math.max(time, last.time), value: equity };
    if (point.time === last.time) state.points[state.points.length - 1] = point;
    else state.points.push(point);
    series.update(point);
    box.setAttribute("data-last", equity.toFixed(2));
  }

  document.addEventListener("tradeapp:event", function (event) {
    if (event.detail && event.detail.event === "quote") {
      window.setTimeout(followSummary, 0); // after orders.js has revalued the summary
    }
  });

  document.addEventListener("tradeapp:theme", function () {
    colors = palette();
    chart.applyOptions(chartOptions(colors));
    series.applyOptions(seriesColors(colors));
  });

  try {
    draw(JSON.parse(dataEl.textContent));
  } catch (error) {
    load(state.range, false);
  }
})();
