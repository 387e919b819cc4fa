/* The charts' look, one place for every page with a lightweight-charts chart (the symbol page, the
   dashboard, backtests, a deployment): colours read from the page's CSS variables, so they follow the
   light/dark theme, and the options every chart shares. A page includes this file before its own chart
   script (deferred scripts run in document order) and redraws with palette() on `tradeapp:theme`.

   tradeapp.chartTheme = {
     palette()                      -> {bg, text, grid, border, up, down, accent, sma, ema, bb}
     chartOptions(colors, extra)    -> the shared chart options; `extra` adds to or overrides a section
                                       (e.g. {timeScale: {timeVisible: false}})
     baselineColors(colors)         -> a baseline series' colours: gains above, losses below
     alpha(hexColor, amount)        -> "#rrggbb" as rgba() with that opacity
   } */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});

  function css(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function palette() {
    return {
      bg: css("--surface", "#ffffff"),
      text: css("--muted", "#545e6a"),
      grid: css("--surface-3", "#e9edf2"),
      border: css("--border", "#d6dce3"),
      up: css("--pos", "#087338"),
      down: css("--neg", "#bd2318"),
      accent: css("--accent", "#1c58cc"),
      sma: css("--chart-sma", "#1c58cc"),
      ema: css("--chart-ema", "#b5650d"),
      bb: css("--chart-bb", "#7c4dbd"),
    };
  }

  function alpha(color, amount) {
    var match = /^#([0-9a-f]{6})$/i.exec(color);
    if (!match) return color;
    var n = parseInt(match[1], 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + amount + ")";
  }

  function isSection(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function chartOptions(colors, extra) {
    var LWC = window.LightweightCharts;
    var options = {
      autoSize: true,
      layout: {
        background: { type: "solid", color: colors.bg },
        textColor: colors.text,
        attributionLogo: true, // the library's licence asks for its attribution on the page
        fontFamily: css("--font", "system-ui, sans-serif"),
      },
      grid: { vertLines: { color: colors.grid }, horzLines: { color: colors.grid } },
      rightPriceScale: { borderColor: colors.border },
      timeScale: { borderColor: colors.border, timeVisible: true, secondsVisible: false },
      crosshair: { mode: LWC && LWC.CrosshairMode ? LWC.CrosshairMode.Normal : 0 },
    };
    Object.keys(extra || {}).forEach(function (key) {
      var both = isSection(options[key]) && isSection(extra[key]);
      options[key] = both ? Object.assign({}, options[key], extra[key]) : extra[key];
    });
    return options;
  }

  function baselineColors(colors) {
    return {
      topLineColor: colors.up,
      topFillColor1: alpha(colors.up, 0.28),
      topFillColor2: alpha(colors.up, 0.04),
      bottomLineColor: colors.down,
      bottomFillColor1: alpha(colors.down, 0.04),
      bottomFillColor2: alpha(colors.down, 0.28),
    };
  }

  tradeapp.chartTheme = {
    palette: palette,
    chartOptions: chartOptions,
    baselineColors: baselineColors,
    alpha: alpha,
  };
})();
