/* Backtest charts (lightweight-charts v5), drawn from json_script data the server put on the page:

   - #backtest-data (a run's page): the equity curve with buy and hold of the first symbol and the
     drawdown in a pane below; the price of a symbol over the period with each trade's entry and exit
     as markers (bars from /api/v1/bars, following `next` cursors up to a cap); a walk-forward run's
     stitched out-of-sample curve;
   - #compare-data (the compare page): both runs' equity as return since their start.

   Curve times are UNIX seconds of bar open times (UTC, as the chart shows them). Colours and shared
   options: chart-theme.js (they follow the theme, tradeapp:theme). */
(function () {
  "use strict";

  var LWC = window.LightweightCharts;
  var tradeapp = window.tradeapp;
  var theme = tradeapp && tradeapp.chartTheme;
  if (!LWC || !theme) return;

  var MAX_PAGES = 5;
  var PAGE_LIMIT = 10000;
  var charts = []; // {chart, restyle(colors)}

  /* --- colours, options (chart-theme.js) ---------------------------------------------------------- */
  var palette = theme.palette;
  var alpha = theme.alpha;

  function chartOptions(colors, intraday) {
    return theme.chartOptions(colors, {
      layout: { panes: { separatorColor: colors.border } },
      timeScale: { timeVisible: !!intraday },
    });
  }

  function percentFormat(places) {
    return {
      type: "custom",
      minMove: 0.01,
      formatter: function (value) {
        return value.toFixed(places) + "%";
      },
    };
  }

  var MONEY = { type: "price", precision: 2, minMove: 0.01 };

  function register(chart, restyle) {
    charts.push({ chart: chart, restyle: restyle });
  }

  document.addEventListener("tradeapp:theme", function () {
    var colors = palette();
    charts.forEach(function (entry) {
      entry.restyle(colors);
    });
  });

  function status(el, text) {
    var box = document.querySelector('[data-chart-status="' + el.id + '"]');
    if (box) box.textContent = text || "";
  }

  function readJSON(id) {
    var element = document.getElementById(id);
    if (!element) return null;
    try {
      return JSON.parse(element.textContent);
    } catch (error) {
      return null;
    }
  }

  /* series data must be strictly ascending in time */
  function points(times, values, scale) {
    var out = [];
    var last = -Infinity;
    for (var index = 0; index < times.length; index += 1) {
      var value = values[index];
      if (times[index] <= last || value === null || value === undefined) continue;
      last = times[index];
      out.push({ time: times[index], value: scale ? scale(value) : value });
    }
    return out;
  }

  function toSeconds(iso) {
    return Math.floor(Date.parse(iso) / 1000);
  }

  /* --- bars ------------------------------------------------------------------------------------- */
  var barsCache = {};

  function loadBars(run, symbol) {
    if (barsCache[symbol]) return barsCache[symbol];
    var base =
      "/api/v1/bars?" +
      new URLSearchParams({
        symbol: tradeapp.api.urlSymbol(symbol),
        timeframe: run.timeframe,
        start: run.start,
        end: run.end,
        limit: String(PAGE_LIMIT),
      }).toString();
    var rows = [];
    function page(cursor, count) {
      return tradeapp.api.get(base + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "")).then(function (body) {
        rows = rows.concat(body.bars);
        if (body.next && count + 1 < MAX_PAGES) return page(body.next, count + 1);
        return { bars: rows, capped: !!body.next };
      });
    }
    barsCache[symbol] = page(null, 0).then(function (result) {
      result.candles = result.bars.map(function (row) {
        return {
          time: toSeconds(row.open_time),
          open: parseFloat(row.open),
          high: parseFloat(row.high),
          low: parseFloat(row.low),
          close: parseFloat(row.close),
        };
      });
      return result;
    });
    return barsCache[symbol];
  }

  /* --- equity and drawdown ------------------------------------------------------------------------ */
  function equityChart(el, curve, options) {
    var colors = palette();
    var chart = LWC.createChart(el, chartOptions(colors, options.intraday));
    var equity = chart.addSeries(LWC.LineSeries, {
      color: colors.accent,
      lineWidth: 2,
      priceLineVisible: false,
      priceFormat: MONEY,
      title: options.title || "",
    });
    equity.setData(points(curve.time, curve.equity));
    var hold = null;
    if (options.hold) {
      hold = chart.addSeries(LWC.LineSeries, {
        color: colors.ema,
        lineWidth: 1,
        lineStyle: 2,
        priceLineVisible: false,
        lastValueVisible: false,
        crosshairMarkerVisible: false,
        priceFormat: MONEY,
      });
    }
    var drawdown = chart.addSeries(
      LWC.BaselineSeries,
      {
        baseValue: { type: "price", price: 0 },
        topLineColor: "rgba(0,0,0,0)",
        topFillColor1: "rgba(0,0,0,0)",
        topFillColor2: "rgba(0,0,0,0)",
        bottomLineColor: colors.down,
        bottomFillColor1: alpha(colors.down, 0.15),
        bottomFillColor2: alpha(colors.down, 0.45),
        lineWidth: 1,
        priceLineVisible: false,
        priceFormat: percentFormat(1),
      },
      1
    );
    drawdown.setData(
      points(curve.time, curve.drawdown, function (value) {
        return value * 100;
      })
    );
    var panes = chart.panes();
    if (panes[1]) panes[1].setHeight(Math.round(el.clientHeight * 0.28));
    chart.timeScale().fitContent();
    el.setAttribute("data-points", String(curve.time.length));
    register(chart, function (colors) {
      chart.applyOptions(chartOptions(colors, options.intraday));
      equity.applyOptions({ color: colors.accent });
      if (hold) hold.applyOptions({ color: colors.ema });
      drawdown.applyOptions({
        bottomLineColor: colors.down,
        bottomFillColor1: alpha(colors.down, 0.15),
        bottomFillColor2: alpha(colors.down, 0.45),
      });
    });
    return { chart: chart, hold: hold };
  }

  /* buy and hold of the first symbol: its closes scaled to the starting cash, on the curve's span */
  function drawHold(drawn, run) {
    if (!drawn.hold || !run.symbols.length) return;
    loadBars(run, run.symbols[0])
      .then(function (result) {
        var candles = result.candles;
        if (!candles.length) return;
        var first = candles[0].close;
        if (!(first > 0)) return;
        drawn.hold.setData(
          candles.map(function (bar) {
            return { time: bar.time, value: Math.round((run.starting_cash * bar.close * 100) / first) / 100 };
          })
        );
      })
      .catch(function () {
        /* the strategy's curve stands alone */
      });
  }

  /* --- price and trades -------------------------------------------------------------------------- */
  function nearestBar(times, time) {
    var low = 0;
    var high = times.length - 1;
    if (high < 0) return null;
    if (time <= times[0]) return times[0];
    while (low < high) {
      var middle = Math.ceil((low + high) / 2);
      if (times[middle] <= time) low = middle;
      else high = middle - 1;
    }
    return times[low];
  }

  function tradeMarkers(run, symbol, times, colors) {
    var markers = [];
    run.trades.forEach(function (trade) {
      if (trade.symbol !== symbol) return;
      var long = trade.direction === "long";
      var entry = nearestBar(times, toSeconds(trade.entry_time));
      var exit = nearestBar(times, toSeconds(trade.exit_time));
      var won = parseFloat(trade.pnl) >= 0;
      if (entry !== null) {
        markers.push({
          time: entry,
          position: long ? "belowBar" : "aboveBar",
          shape: long ? "arrowUp" : "arrowDown",
          color: colors.accent,
          text: long ? "Buy" : "Short",
        });
      }
      if (exit !== null) {
        markers.push({
          time: exit,
          position: long ? "aboveBar" : "belowBar",
          shape: long ? "arrowDown" : "arrowUp",
          color: won ? colors.up : colors.down,
          text: long ? "Sell" : "Cover",
        });
      }
    });
    markers.sort(function (a, b) {
      return a.time - b.time;
    });
    return markers;
  }

  function priceChart(el, run) {
    var colors = palette();
    var intraday = run.timeframe !== "1d";
    var chart = LWC.createChart(el, chartOptions(colors, intraday));
    var candles = chart.addSeries(LWC.CandlestickSeries, {
      upColor: colors.up,
      downColor: colors.down,
      wickUpColor: colors.up,
      wickDownColor: colors.down,
      borderVisible: false,
      priceLineVisible: false,
    });
    var markers = LWC.createSeriesMarkers(candles, []);
    var current = { symbol: null, result: null };

    function draw(symbol) {
      current.symbol = symbol;
      el.setAttribute("data-symbol", symbol);
      el.setAttribute("aria-label", "Price of " + symbol + " with trade entries and exits");
      status(el, "Loading " + symbol + " bars…");
      loadBars(run, symbol)
        .then(function (result) {
          if (current.symbol !== symbol) return;
          current.result = result;
          candles.setData(result.candles);
          var times = result.candles.map(function (bar) {
            return bar.time;
          });
          var list = tradeMarkers(run, symbol, times, palette());
          markers.setMarkers(list);
          chart.timeScale().fitContent();
          el.setAttribute("data-bars", String(result.candles.length));
          el.setAttribute("data-markers", String(list.length));
          status(el, result.candles.length ? "" : "No stored " + run.timeframe + " bars of " + symbol + " in the period.");
          var note = document.querySelector("[data-price-note]");
          if (note) note.textContent = result.capped ? " · the first " + result.candles.length + " bars are shown" : "";
        })
        .catch(function (error) {
          if (current.symbol === symbol) status(el, "Could not load the bars: " + error.message);
        });
    }

    document.querySelectorAll("[data-chart-symbol]").forEach(function (button) {
      button.addEventListener("click", function () {
        document.querySelectorAll("[data-chart-symbol]").forEach(function (other) {
          other.setAttribute("aria-pressed", other === button ? "true" : "false");
        });
        draw(button.getAttribute("data-chart-symbol"));
      });
    });

    register(chart, function (colors) {
      chart.applyOptions(chartOptions(colors, intraday));
      candles.applyOptions({ upColor: colors.up, downColor: colors.down, wickUpColor: colors.up, wickDownColor: colors.down });
      if (current.result) {
        var times = current.result.candles.map(function (bar) {
          return bar.time;
        });
        markers.setMarkers(tradeMarkers(run, current.symbol, times, colors));
      }
    });
    if (run.symbols.length) draw(run.symbols[0]);
  }

  /* --- compare ------------------------------------------------------------------------------------- */
  function growth(curve) {
    var base = curve.equity.length ? curve.equity[0] : 0;
    return points(curve.time, curve.equity, function (value) {
      return base > 0 ? (value / base - 1) * 100 : 0;
    });
  }

  function compareChart(el, data) {
    var colors = palette();
    var chart = LWC.createChart(el, chartOptions(colors, false));
    var series = [];
    [
      ["a", "accent"],
      ["b", "ema"],
    ].forEach(function (pair) {
      var run = data[pair[0]];
      if (!run || !run.curve) return;
      var line = chart.addSeries(LWC.LineSeries, {
        color: colors[pair[1]],
        lineWidth: 2,
        priceLineVisible: false,
        priceFormat: percentFormat(2),
        title: run.label,
      });
      line.setData(growth(run.curve));
      series.push([line, pair[1]]);
    });
    chart.timeScale().fitContent();
    el.setAttribute("data-series", String(series.length));
    register(chart, function (colors) {
      chart.applyOptions(chartOptions(colors, false));
      series.forEach(function (pair) {
        pair[0].applyOptions({ color: colors[pair[1]] });
      });
    });
  }

  /* --- the page ------------------------------------------------------------------------------------ */
  var run = readJSON("backtest-data");
  if (run) {
    var intraday = run.timeframe !== "1d";
    var equityEl = document.getElementById("equity-chart");
    if (equityEl && run.equity_curve) {
      drawHold(equityChart(equityEl, run.equity_curve, { intraday: intraday, hold: true }), run);
    }
    var walkEl = document.getElementById("walk-forward-chart");
    if (walkEl && run.walk_forward_curve) equityChart(walkEl, run.walk_forward_curve, { intraday: intraday });
    var priceEl = document.getElementById("price-chart");
    if (priceEl) priceChart(priceEl, run);
  }
  var compared = readJSON("compare-data");
  var compareEl = document.getElementById("compare-chart");
  if (compared && compareEl) compareChart(compareEl, compared);
})();
