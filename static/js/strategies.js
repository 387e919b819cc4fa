/* The strategy pages (library, configuration, deployments, one deployment), on top of realtime.js,
   live-sections.js and orders.js (toasts, dialogs' close buttons, local times):

   - a deployment's status follows the user stream's `strategy_deployment` event at once, wherever
     [data-deployment-id] shows it (its pill and which of pause / resume / stop apply); the sections
     marked data-live="strategy_deployment strategy_signal" (the deployments list, a deployment's
     head, figures, signals, events…) are re-rendered by live-sections.js after those events, and
     signal rows that were not on the page before are highlighted;
   - form[data-strategy-action] (pause, resume, the stop dialog) posts with fetch (Accept:
     application/json), shows the answer as a toast and re-renders the sections; without JavaScript
     they are plain forms;
   - a[data-stop] opens the stop dialog (close positions or not); without JavaScript it leads to the
     deployment page's stop form;
   - the deployment page's P&L curve (lightweight-charts, data from the #pnl-curve json_script, drawn
     again when its section is re-rendered), coloured by the theme (chart-theme.js).
   The configuration form's strategy switch needs nothing here: htmx swaps the parameter fields. */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});

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
    if (!id || !status) return;
    document.querySelectorAll('[data-deployment-id="' + id + '"]').forEach(function (holder) {
      holder.setAttribute("data-status", status);
      holder.querySelectorAll('[data-field="status"]').forEach(function (pill) {
        pill.textContent = status;
        pill.setAttribute("data-status", status);
      });
      holder.querySelectorAll("[data-when]").forEach(function (control) {
        control.hidden = control.getAttribute("data-when").split(/\s+/).indexOf(status) < 0;
      });
    });
  }

  /* --- live: status at once, sections re-rendered by live-sections.js ------------------------ */
  var seenSignals = new Set(); // signal rows the page has shown: any other after a refresh is new

  function noteSignals(highlight) {
    document.querySelectorAll("[data-signal-id]").forEach(function (row) {
      var id = row.getAttribute("data-signal-id");
      if (highlight && !seenSignals.has(id)) row.classList.add("is-new");
      seenSignals.add(id);
    });
  }

  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    if (!message || typeof message.stream !== "string" || message.stream.indexOf("user.") !== 0) return;
    if (message.event === "strategy_deployment" && message.data) {
      applyStatus(message.data.id, displayStatus(message.data));
    }
  });

  document.addEventListener("tradeapp:refreshed", function () {
    noteSignals(true);
    drawCurve(); // a fill or a bar may have moved it
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
    tradeapp.postForm(form.action, new FormData(form))
      .then(function (answer) {
        if (dialog && dialog.open) dialog.close();
        if (answer.ok) {
          toast(answer.body.message, "success");
          if (answer.body.deployment) applyStatus(answer.body.deployment.id, answer.body.display_status);
          tradeapp.refreshSections("strategy_deployment");
        } else {
          toast(answer.body.message || "That did not work.", "error");
          tradeapp.refreshSections("strategy_deployment"); // the status may have moved meanwhile
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

  /* --- the P&L curve --------------------------------------------------------------------------- */
  var LWC = window.LightweightCharts;
  var chartEl = document.getElementById("pnl-chart");
  var chart = null;
  var series = null;

  function chartOptions() {
    return tradeapp.chartTheme.chartOptions(tradeapp.chartTheme.palette());
  }

  function seriesOptions() {
    return Object.assign(
      {
        baseValue: { type: "price", price: 0 },
        lineWidth: 2,
        priceFormat: { type: "price", precision: 2, minMove: 0.01 },
      },
      tradeapp.chartTheme.baselineColors(tradeapp.chartTheme.palette())
    );
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
    if (!LWC || !tradeapp.chartTheme || !chartEl) return;
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

  noteSignals(false);
  drawCurve();
})();
