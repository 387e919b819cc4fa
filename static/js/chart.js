/* The symbol page: candlesticks + volume (lightweight-charts v5), a timeframe switch, SMA/EMA/Bollinger
   overlays, an RSI or MACD pane below (time-synced), and live updates of the last candle from the
   symbol's quote stream. Data: /api/v1/bars (following `next` cursors up to a cap), /api/v1/indicators,
   /api/v1/quotes after a resync. Colours and shared options: chart-theme.js (they follow the theme). */
(function () {
  "use strict";

  var LWC = window.LightweightCharts;
  var tradeapp = window.tradeapp;
  var theme = tradeapp && tradeapp.chartTheme;
  var mainEl = document.getElementById("price-chart");
  var paneEl = document.getElementById("pane-chart");
  if (!LWC || !theme || !mainEl || !paneEl) return;

  var SYMBOL = mainEl.getAttribute("data-symbol"); // URL spelling, e.g. BTC-USD
  var STREAM = mainEl.getAttribute("data-stream");
  var TICK = parseFloat(mainEl.getAttribute("data-tick") || "0.01");
  var PRECISION = Math.max(0, Math.min(8, Math.round(-Math.log10(TICK))));
  var MAX_PAGES = 6;
  var PAGE_LIMIT = 10000;
  var STEP = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400 };
  var WINDOW_DAYS = { "1m": 2, "5m": 7, "15m": 14, "1h": 90, "1d": 730 };

  var state = {
    timeframe: "5m",
    overlays: new Set(["sma:20"]),
    pane: "rsi:14",
    bars: [], // chart-time candles {time, open, high, low, close}
    volumes: [],
    lastVolume: null, // the quote's cumulative session volume at the previous tick
    loadId: 0,
  };
  var statusEl = document.getElementById("chart-status");
  var paneLabel = document.getElementById("pane-label");
  var quoteBox = document.getElementById("quote-box");

  /* --- colours and charts (chart-theme.js) ------------------------------------------------------ */
  var palette = theme.palette;
  var chartOptions = theme.chartOptions;

  var colors = palette();
  var priceFormat = { type: "price", precision: PRECISION, minMove: TICK };
  var main = LWC.createChart(mainEl, chartOptions(colors));
  var candles = main.addSeries(LWC.CandlestickSeries, {
    upColor: colors.up,
    downColor: colors.down,
    wickUpColor: colors.up,
    wickDownColor: colors.down,
    borderVisible: false,
    priceFormat: priceFormat,
  });
  var volume = main.addSeries(LWC.HistogramSeries, {
    priceScaleId: "volume",
    priceFormat: { type: "volume" },
    lastValueVisible: false,
    priceLineVisible: false,
  });
  main.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.24 } });

  var pane = LWC.createChart(paneEl, chartOptions(colors));
  pane.applyOptions({ timeScale: { visible: false }, layout: { attributionLogo: false } }); // one logo: the main chart's
  var overlaySeries = []; // line series on the main chart
  var paneSeries = [];

  /* keep both time scales on the same bars: the indicator series carry one point per bar */
  /* the main chart leads; the pane leads only while the user scrolls or zooms it (its own data
     changes must not move the main chart) */
  var paneActive = false;
  main.timeScale().subscribeVisibleLogicalRangeChange(function (range) {
    if (range && !paneActive) pane.timeScale().setVisibleLogicalRange(range);
  });
  pane.timeScale().subscribeVisibleLogicalRangeChange(function (range) {
    if (range && paneActive) main.timeScale().setVisibleLogicalRange(range);
  });
  ["pointerdown", "pointerenter", "wheel", "touchstart"].forEach(function (type) {
    paneEl.addEventListener(type, function () {
      paneActive = true;
    }, { passive: true });
  });
  ["pointerleave", "touchend"].forEach(function (type) {
    paneEl.addEventListener(type, function () {
      paneActive = false;
    }, { passive: true });
  });

  /* line the two time axes up: both price scales as wide as the wider one */
  function alignScales() {
    window.requestAnimationFrame(function () {
      var width = Math.max(main.priceScale("right").width(), pane.priceScale("right").width());
      if (!width) return;
      main.priceScale("right").applyOptions({ minimumWidth: width });
      pane.priceScale("right").applyOptions({ minimumWidth: width });
    });
  }

  /* --- time: bars are labelled in UTC; show the viewer's local clock on intraday charts ------- */
  function chartTime(seconds) {
    if (state.timeframe === "1d") return seconds;
    return seconds - new Date(seconds * 1000).getTimezoneOffset() * 60;
  }

  function toSeconds(iso) {
    return Math.floor(Date.parse(iso) / 1000);
  }

  function volumeColor(bar) {
    var color = bar.close >= bar.open ? colors.up : colors.down;
    return theme.alpha(color, 0.45);
  }

  /* --- loading ------------------------------------------------------------------------------ */
  function setStatus(text) {
    if (statusEl) statusEl.textContent = text || "";
  }

  function windowParams(timeframe) {
    var end = new Date();
    var start = new Date(end.getTime() - WINDOW_DAYS[timeframe] * 86400000);
    return { start: start.toISOString(), end: end.toISOString() };
  }

  function loadBars(timeframe, range) {
    var base =
      "/api/v1/bars?" +
      new URLSearchParams({
        symbol: SYMBOL,
        timeframe: timeframe,
        start: range.start,
        end: range.end,
        limit: String(PAGE_LIMIT),
      }).toString();
    var rows = [];
    function page(cursor, count) {
      return tradeapp.api.get(base + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")).then(function (body) {
        rows = rows.concat(body.bars);
        if (body.next && count + 1 < MAX_PAGES) return page(body.next, count + 1);
        return rows;
      });
    }
    return page(null, 0);
  }

  function load() {
    var id = ++state.loadId;
    var timeframe = state.timeframe;
    var range = windowParams(timeframe);
    setStatus("Loading " + timeframe + " bars…");
    loadBars(timeframe, range)
      .then(function (rows) {
        if (id !== state.loadId) return;
        state.bars = rows.map(function (row) {
          return {
            time: chartTime(toSeconds(row.open_time)),
            open: parseFloat(row.open),
            high: parseFloat(row.high),
            low: parseFloat(row.low),
            close: parseFloat(row.close),
          };
        });
        state.volumes = rows.map(function (row, index) {
          var bar = state.bars[index];
          return { time: bar.time, value: parseFloat(row.volume), color: volumeColor(bar) };
        });
        state.lastVolume = null;
        candles.setData(state.bars);
        volume.setData(state.volumes);
        main.timeScale().fitContent();
        setStatus(rows.length ? "" : "No " + timeframe + " bars in this window yet.");
        mainEl.setAttribute("data-bars", String(rows.length));
        mainEl.setAttribute("data-timeframe", timeframe);
        return loadIndicators(id, rows.length ? rows[0].open_time : range.start, range.end);
      })
      .catch(function (error) {
        if (id === state.loadId) setStatus("Could not load the chart: " + error.message);
      });
  }

  function loadIndicators(id, start, end) {
    var names = Array.from(state.overlays);
    if (state.pane) names.push(state.pane);
    if (!names.length || !state.bars.length) {
      drawIndicators(null);
      return Promise.resolve();
    }
    var url =
      "/api/v1/indicators?" +
      new URLSearchParams({
        symbol: SYMBOL,
        timeframe: state.timeframe,
        start: start,
        end: end,
        names: names.join(","),
      }).toString();
    return tradeapp.api.get(url).then(function (body) {
      if (id === state.loadId) drawIndicators(body);
    });
  }

  function points(times, values) {
    return times.map(function (time, index) {
      var value = values[index];
      return value === null || value === undefined ? { time: time } : { time: time, value: value };
    });
  }

  function line(chart, color, extra) {
    var options = {
      color: color,
      lineWidth: 2,
      priceLineVisible: false,
      lastValueVisible: false,
      crosshairMarkerVisible: false,
    };
    Object.keys(extra || {}).forEach(function (key) {
      options[key] = extra[key];
    });
    return chart.addSeries(LWC.LineSeries, options);
  }

  function drawIndicators(body) {
    overlaySeries.forEach(function (series) {
      main.removeSeries(series);
    });
    paneSeries.forEach(function (series) {
      pane.removeSeries(series);
    });
    overlaySeries = [];
    paneSeries = [];
    if (!body) {
      paneEl.setAttribute("data-indicator", "");
      return;
    }
    var times = body.times.map(function (iso) {
      return chartTime(toSeconds(iso));
    });
    Object.keys(body.series).forEach(function (key) {
      var kind = key.split(":")[0];
      var values = body.series[key];
      var color = colors[kind] || colors.sma;
      if (kind === "sma" || kind === "ema") {
        var series = line(main, color, { priceFormat: priceFormat });
        series.setData(points(times, values));
        overlaySeries.push(series);
      } else if (kind === "bb") {
        ["upper", "middle", "lower"].forEach(function (part) {
          var band = line(main, color, {
            lineWidth: 1,
            lineStyle: part === "middle" ? 2 : 0,
            priceFormat: priceFormat,
          });
          band.setData(points(times, values[part]));
          overlaySeries.push(band);
        });
      } else if (kind === "rsi") {
        var rsi = line(pane, colors.bb, { lastValueVisible: true });
        rsi.setData(points(times, values));
        rsi.createPriceLine({ price: 70, color: colors.down, lineWidth: 1, lineStyle: 2, axisLabelVisible: false });
        rsi.createPriceLine({ price: 30, color: colors.up, lineWidth: 1, lineStyle: 2, axisLabelVisible: false });
        paneSeries.push(rsi);
      } else if (kind === "macd") {
        var histogram = pane.addSeries(LWC.HistogramSeries, { priceLineVisible: false, lastValueVisible: false });
        histogram.setData(
          times.map(function (time, index) {
            var value = values.histogram[index];
            if (value === null) return { time: time };
            return { time: time, value: value, color: theme.alpha(value >= 0 ? colors.up : colors.down, 0.6) };
          })
        );
        var macdLine = line(pane, colors.sma);
        macdLine.setData(points(times, values.macd));
        var signalLine = line(pane, colors.ema);
        signalLine.setData(points(times, values.signal));
        paneSeries.push(histogram, macdLine, signalLine);
      }
    });
    paneEl.setAttribute("data-indicator", state.pane || "");
    var range = main.timeScale().getVisibleLogicalRange();
    if (range) pane.timeScale().setVisibleLogicalRange(range);
    alignScales();
  }

  /* --- controls ----------------------------------------------------------------------------- */
  function press(button, pressed) {
    button.setAttribute("aria-pressed", pressed ? "true" : "false");
  }

  document.querySelectorAll("[data-timeframe]").forEach(function (button) {
    button.addEventListener("click", function () {
      state.timeframe = button.getAttribute("data-timeframe");
      document.querySelectorAll("[data-timeframe]").forEach(function (other) {
        press(other, other === button);
      });
      load();
    });
  });

  document.querySelectorAll("[data-overlay]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-overlay");
      if (state.overlays.has(name)) state.overlays.delete(name);
      else state.overlays.add(name);
      press(button, state.overlays.has(name));
      refreshIndicators();
    });
  });

  document.querySelectorAll("button[data-pane]").forEach(function (button) {
    button.addEventListener("click", function () {
      state.pane = button.getAttribute("data-pane");
      document.querySelectorAll("button[data-pane]").forEach(function (other) {
        press(other, other === button);
      });
      if (paneLabel) paneLabel.textContent = button.textContent + (state.pane === "rsi:14" ? " 14" : " 12, 26, 9");
      refreshIndicators();
    });
  });

  function refreshIndicators() {
    if (!state.bars.length) return;
    var first = new Date(utcSeconds(state.bars[0].time) * 1000).toISOString();
    loadIndicators(state.loadId, first, new Date().toISOString()).catch(function (error) {
      setStatus("Could not load indicators: " + error.message);
    });
  }

  function utcSeconds(time) {
    if (state.timeframe === "1d") return time;
    // invert chartTime: the offset at the shifted instant is the same except across a DST change
    return time + new Date(time * 1000).getTimezoneOffset() * 60;
  }

  /* --- live quotes -------------------------------------------------------------------------- */
  function fmt(value) {
    var number = parseFloat(value);
    return Number.isFinite(number) ? number.toFixed(PRECISION) : "—";
  }

  function showQuote(quote) {
    if (!quoteBox || !quote) return;
    var set = function (field, text) {
      var el = quoteBox.querySelector('[data-field="' + field + '"]');
      if (el) el.textContent = text;
    };
    set("last", fmt(quote.last));
    set("bid", fmt(quote.bid));
    set("ask", fmt(quote.ask));
    var changeEl = quoteBox.querySelector('[data-field="change"]');
    if (changeEl && quote.change !== null && quote.change !== undefined) {
      var change = parseFloat(quote.change);
      var pct = parseFloat(quote.change_pct);
      var sign = change > 0 ? "+" : "";
      changeEl.textContent = sign + fmt(change) + " (" + sign + (Number.isFinite(pct) ? pct.toFixed(2) : "—") + "%)";
      changeEl.classList.toggle("pos", change > 0);
      changeEl.classList.toggle("neg", change < 0);
    }
  }

  function applyTick(quote) {
    showQuote(quote);
    var price = parseFloat(quote.last);
    var seconds = toSeconds(quote.ts);
    if (!Number.isFinite(price) || !Number.isFinite(seconds)) return;
    var step = STEP[state.timeframe];
    var time = chartTime(Math.floor(seconds / step) * step);
    var cumulative = parseFloat(quote.volume);
    var traded = 0;
    if (Number.isFinite(cumulative) && state.lastVolume !== null && cumulative >= state.lastVolume) {
      traded = cumulative - state.lastVolume;
    }
    if (Number.isFinite(cumulative)) state.lastVolume = cumulative;

    var last = state.bars[state.bars.length - 1];
    if (last && time < last.time) return; // an old tick: the chart already moved on
    var rolled = !last || time > last.time;
    var bar = rolled
      ? { time: time, open: price, high: price, low: price, close: price }
      : {
          time: last.time,
          open: last.open,
          high: Math.max(last.high, price),
          low: Math.min(last.low, price),
          close: price,
        };
    if (rolled) {
      state.bars.push(bar);
      state.volumes.push({ time: time, value: traded, color: volumeColor(bar) });
    } else {
      state.bars[state.bars.length - 1] = bar;
      var vol = state.volumes[state.volumes.length - 1];
      state.volumes[state.volumes.length - 1] = { time: time, value: vol.value + traded, color: volumeColor(bar) };
    }
    candles.update(bar);
    volume.update(state.volumes[state.volumes.length - 1]);
    mainEl.setAttribute("data-last-close", String(price));
    if (rolled && last) refreshIndicators(); // a bar closed: the indicators gain a value
  }

  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    if (message && message.stream === STREAM && message.event === "quote" && message.data) applyTick(message.data);
  });

  document.addEventListener("tradeapp:resync", function (event) {
    if (!event.detail || event.detail.stream !== STREAM) return;
    tradeapp.api.get("/api/v1/quotes?symbols=" + encodeURIComponent(SYMBOL))
      .then(function (body) {
        var row = body.quotes && body.quotes[0];
        if (row && row.quote) showQuote(row.quote);
      })
      .catch(function () {
        /* the next tick brings it */
      });
  });

  document.addEventListener("tradeapp:theme", function () {
    colors = palette();
    main.applyOptions(chartOptions(colors));
    pane.applyOptions(chartOptions(colors));
    pane.applyOptions({ timeScale: { visible: false }, layout: { attributionLogo: false } });
    candles.applyOptions({ upColor: colors.up, downColor: colors.down, wickUpColor: colors.up, wickDownColor: colors.down });
    state.volumes = state.volumes.map(function (vol, index) {
      return { time: vol.time, value: vol.value, color: volumeColor(state.bars[index]) };
    });
    volume.setData(state.volumes);
    refreshIndicators();
  });

  if (window.tradeapp && window.tradeapp.realtime && STREAM) window.tradeapp.realtime.subscribe([STREAM]);
  load();
})();
