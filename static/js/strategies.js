/* The strategy pages (library, configuration, deployments, one deployment), on top of realtime.js and
   orders.js (toasts, dialogs' close buttons, the "order" / "fill" refreshes of data-live sections):

   - a deployment's status follows the user stream's `strategy_deployment` event at once, wherever
     [data-deployment-id] shows it (its pill and which of pause / resume / stop apply), and sections
     marked <… id data-strategy-live> are re-rendered by the server after that event, after a
     `strategy_signal` of a deployment on the page (new signal rows are highlighted) and after a
     reconnect or a gap in the stream (tradeapp:resync);
   - form[data-strategy-action] (pause, resume, the stop dialog) posts with fetch (Accept:
     application/json) and shows the answer as a toast; without JavaScript they are plain forms;
   - a[data-stop] opens the stop dialog (close positions or not); without JavaScript it leads to the
     deployment page's stop form;
   - the deployment page's P&L curve (lightweight-charts, data from the #pnl-curve json_script),
     coloured by the theme's variables.
   The configuration form's strategy switch needs nothing here: htmx swaps the parameter fields. */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});
  var REFRESH_DELAY_MS = 250;
  var TYPING_RETRY_MS = 2000;

  function toast(message, kind) {
    if (tradeapp.toast) tradeapp.toast(message, { kind: kind });
  }

  /* --- status -------------------------------------------------------------------------------- */
  /* the same rule as strategies.selectors.display_status: paused by a failing tick = "failed" */
  function displayStatus(deployment) {
    if (
      deployment.status === "paused" &&
      deployment.last_error_at &&
      deployment.paused_at === deployment.last_error_at
    ) {
      return "failed";
    }
    return deployment.status;
  }

  function applyStatus(id, status) {
    if (!id || !status) return false;
    var shown = document.querySelectorAll('[data-deployment-id="' + id + '"]');
    shown.forEach(function (holder) {
      holder.setAttribute("data-status", status);
      holder.querySelectorAll('[data-field="status"]').forEach(function (pill) {
        pill.textContent = status;
        pill.setAttribute("data-status", status);
      });
      holder.querySelectorAll("[data-when]").forEach(function (control) {
        control.hidden = control.getAttribute("data-when").split(/\s+/).indexOf(status) < 0;
      });
    });
    return shown.length > 0;
  }

  /* --- live sections: re-rendered by the server ---------------------------------------------- */
  var refreshTimer = null;
  var refreshing = false;

  function scheduleRefresh() {
    if (!document.querySelector("[data-strategy-live][id]")) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, REFRESH_DELAY_MS);
  }

  function typingIn(section) {
    var active = document.activeElement;
    return active && section.contains(active) && active.matches("input, select, textarea");
  }

  function knownSignals() {
    var ids = new Set();
    document.querySelectorAll("[data-signal-id]").forEach(function (row) {
      ids.add(row.getAttribute("data-signal-id"));
    });
    return ids;
  }

  function refresh() {
    if (refreshing) {
      refreshTimer = setTimeout(refresh, REFRESH_DELAY_MS);
      return;
    }
    var sections = Array.from(document.querySelectorAll("[data-strategy-live][id]"));
    if (!sections.length) return;
    var before = knownSignals();
    refreshing = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("not refreshed");
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        sections.forEach(function (section) {
          var replacement = fresh.getElementById(section.id);
          if (!replacement) return;
          if (typingIn(section)) {
            clearTimeout(refreshTimer);
            refreshTimer = setTimeout(refresh, TYPING_RETRY_MS);
            return;
          }
          section.replaceWith(document.importNode(replacement, true));
        });
        var head = fresh.querySelector(".deployment-head[data-status]");
        if (head) applyStatus(head.getAttribute("data-deployment-id"), head.getAttribute("data-status"));
        if (before.size || document.querySelector("[data-signal-id]")) {
          document.querySelectorAll("[data-signal-id]").forEach(function (row) {
            if (!before.has(row.getAttribute("data-signal-id"))) row.classList.add("is-new");
          });
        }
        localTimes(document);
        drawCurve();
      })
      .catch(function () {
        /* the next event or resync tries again */
      })
      .then(function () {
        refreshing = false;
      });
  }

  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    if (!message || typeof message.stream !== "string" || message.stream.indexOf("user.") !== 0) return;
    var data = message.data || {};
    if (message.event === "strategy_deployment") {
      var shown = applyStatus(data.id, displayStatus(data));
      if (shown || document.querySelector("[data-deployments-list]")) scheduleRefresh();
    } else if (message.event === "strategy_signal") {
      if (document.querySelector('[data-deployment-id="' + data.deployment_id + '"]')) scheduleRefresh();
    }
  });

  document.addEventListener("tradeapp:resync", function (event) {
    var stream = event.detail && event.detail.stream;
    if (typeof stream === "string" && stream.indexOf("user.") === 0) scheduleRefresh();
  });

  /* orders.js re-rendered its own sections (a fill): the curve's data may have changed */
  document.addEventListener("tradeapp:refreshed", function () {
    drawCurve();
  });

  /* --- pause / resume / stop with fetch ------------------------------------------------------ */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.matches || !form.matches("form[data-strategy-action]")) return;
    if (typeof window.fetch !== "function") return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    var buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach(function (button) {
      button.disabled = true;
    });
    var dialog = form.closest("dialog");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { ok: response.ok, body: body };
          },
          function () {
            return { ok: false, body: { message: "The server answered " + response.status + "." } };
          }
        );
      })
      .then(function (answer) {
        if (dialog && dialog.open) dialog.close();
        if (answer.ok) {
          toast(answer.body.message, "success");
          if (answer.body.deployment) applyStatus(answer.body.deployment.id, answer.body.display_status);
          scheduleRefresh();
        } else {
          toast(answer.body.message || "That did not work.", "error");
          scheduleRefresh(); // the status may have moved meanwhile: show the current one
        }
      })
      .catch(function () {
        toast("Could not reach the server. Try again.", "error");
      })
      .then(function () {
        form.removeAttribute("aria-busy");
        buttons.forEach(function (button) {
          button.disabled = false;
        });
      });
  });

  /* --- the stop dialog ------------------------------------------------------------------------- */
  var stopDialog = document.getElementById("stop-dialog");

  document.addEventListener("click", function (event) {
    if (!event.target.closest || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest("a[data-stop]");
    if (!link || !stopDialog || typeof stopDialog.showModal !== "function") return;
    event.preventDefault();
    var form = stopDialog.querySelector("form");
    form.action = link.getAttribute("data-action");
    var label = stopDialog.querySelector("[data-dialog-label]");
    if (label) label.textContent = link.getAttribute("data-name") || "this deployment";
    form.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
      box.checked = false;
    });
    var next = form.querySelector('input[name="next"]');
    if (next) next.value = window.location.pathname + window.location.search;
    stopDialog.opener = link;
    stopDialog.showModal();
    var first = form.querySelector('input[type="checkbox"]');
    if (first) first.focus();
  });

  if (stopDialog) {
    stopDialog.addEventListener("close", function () {
      if (stopDialog.opener && document.contains(stopDialog.opener) && !stopDialog.opener.hidden) {
        stopDialog.opener.focus();
      }
    });
  }

  /* --- times in the browser's zone (as orders.js shows them) ----------------------------------- */
  function localTimes(root) {
    root.querySelectorAll("time[data-local-time]:not([data-localized])").forEach(function (element) {
      var when = new Date(element.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      element.textContent = when.toLocaleString(undefined, {
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        second: element.closest("td") ? "2-digit" : undefined,
      });
      element.setAttribute("title", when.toISOString());
      element.setAttribute("data-localized", "");
    });
  }

  /* --- the P&L curve --------------------------------------------------------------------------- */
  var LWC = window.LightweightCharts;
  var chartEl = document.getElementById("pnl-chart");
  var chart = null;
  var series = null;

  function css(name, fallback) {
    var value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function alpha(color, amount) {
    var match = /^#([0-9a-f]{6})$/i.exec(color);
    if (!match) return color;
    var n = parseInt(match[1], 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + amount + ")";
  }

  function chartOptions() {
    var grid = css("--surface-3", "#e9edf2");
    var border = css("--border", "#d6dce3");
    return {
      autoSize: true,
      layout: {
        background: { type: "solid", color: css("--surface", "#ffffff") },
        textColor: css("--muted", "#545e6a"),
        attributionLogo: true,
        fontFamily: css("--font", "system-ui, sans-serif"),
      },
      grid: { vertLines: { color: grid }, horzLines: { color: grid } },
      rightPriceScale: { borderColor: border },
      timeScale: { borderColor: border, timeVisible: true, secondsVisible: false },
    };
  }

  function seriesOptions() {
    var up = css("--pos", "#087338");
    var down = css("--neg", "#bd2318");
    return {
      baseValue: { type: "price", price: 0 },
      topLineColor: up,
      topFillColor1: alpha(up, 0.28),
      topFillColor2: alpha(up, 0.04),
      bottomLineColor: down,
      bottomFillColor1: alpha(down, 0.04),
      bottomFillColor2: alpha(down, 0.28),
      lineWidth: 2,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    };
  }

  /* bars are labelled in UTC; intraday curves show the viewer's clock, as the symbol chart does */
  function chartTime(seconds, daily) {
    return daily ? seconds : seconds - new Date(seconds * 1000).getTimezoneOffset() * 60;
  }

  function curveData() {
    var source = document.getElementById("pnl-curve");
    if (!source) return [];
    try {
      var points = JSON.parse(source.textContent);
      return Array.isArray(points) ? points : [];
    } catch (error) {
      return [];
    }
  }

  function drawCurve() {
    if (!LWC || !chartEl) return;
    var points = curveData();
    var empty = document.getElementById("pnl-chart-empty");
    if (empty) empty.hidden = points.length > 0;
    chartEl.hidden = points.length === 0;
    chartEl.setAttribute("data-points", String(points.length));
    if (!points.length) return;
    var daily = points.length > 1 && points[1].time - points[0].time >= 86400;
    if (!chart) {
      chart = LWC.createChart(chartEl, chartOptions());
      series = chart.addSeries(LWC.BaselineSeries, seriesOptions());
    }
    series.setData(
      points.map(function (point) {
        return { time: chartTime(point.time, daily), value: point.value };
      })
    );
    chart.timeScale().fitContent();
  }

  document.addEventListener("tradeapp:theme", function () {
    if (!chart) return;
    chart.applyOptions(chartOptions());
    series.applyOptions(seriesOptions());
  });

  drawCurve();
})();
