/* Backtest pages (the charts are backtest-charts.js):

   - runs follow the user stream's "backtest" event ({id, status, progress, error_code, ...}): the
     status badge and progress bar of every element with data-backtest-id move at once, without
     fetching anything;
   - a run's page reloads when its run finishes (the server lays the results out); the list's runs
     section (data-live="backtest-list") is re-rendered by live-sections.js when a run finishes or a
     new one appears, not on every progress event. Events are hints (Channels may drop one): after the
     socket (re)connects or a gap in the stream's sequence numbers, the page re-reads the run from the
     REST API, and live-sections.js re-renders the list;
   - the list's compare checkboxes: two runs, then "Compare selected" (a plain GET form without JS);
     the ticked ones stay ticked when the list is re-rendered;
   - the form: only the chosen kind's settings and the chosen cost models' fields are shown, and the
     instrument search adds symbols to the comma-separated symbols field. The strategy switch is htmx. */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});
  var FINISHED = ["completed", "failed", "canceled"];
  var LABELS = { queued: "Queued", running: "Running", completed: "Completed", failed: "Failed", canceled: "Canceled" };
  var RELOAD_DELAY_MS = 300;
  var LIST = "backtest-list"; // the runs section's data-live name: refreshed when this file asks

  /* --- status and progress ------------------------------------------------------------------ */
  function applyState(root, run) {
    var status = root.querySelector('[data-field="status"]');
    if (status && run.status) {
      status.textContent = LABELS[run.status] || run.status;
      status.setAttribute("data-status", run.status);
    }
    var finished = FINISHED.indexOf(run.status) >= 0;
    var box = root.querySelector('[data-field="progress-box"]');
    if (box) box.hidden = finished;
    var percent = Math.max(0, Math.min(100, Number(run.progress) || 0));
    var bar = root.querySelector('[data-field="progress"]');
    if (bar) {
      bar.value = percent;
      bar.textContent = percent + "%";
    }
    var text = root.querySelector('[data-field="progress-text"]');
    if (text) text.textContent = percent + "%";
  }

  /* --- one run's page ---------------------------------------------------------------------- */
  var detail = document.querySelector("[data-backtest-detail]");
  var reloading = false;

  function onDetail(run) {
    if (!detail || run.id !== detail.getAttribute("data-backtest-id")) return;
    applyState(detail, run);
    var shown = detail.getAttribute("data-status");
    if (FINISHED.indexOf(run.status) >= 0 && run.status !== shown && !reloading) {
      reloading = true;
      window.setTimeout(function () {
        window.location.reload();
      }, RELOAD_DELAY_MS);
    }
  }

  function syncDetail() {
    if (!detail || FINISHED.indexOf(detail.getAttribute("data-status")) >= 0) return;
    tradeapp.api.get("/api/v1/backtests/" + encodeURIComponent(detail.getAttribute("data-backtest-id")))
      .then(onDetail)
      .catch(function () {
        /* the next event or reconnect tries again */
      });
  }

  /* --- the list ------------------------------------------------------------------------------ */
  var picked = new Set(); // the runs ticked for comparing, kept across re-renders

  function listSection() {
    return document.getElementById("backtest-runs");
  }

  function refreshList() {
    if (listSection() && tradeapp.refreshSections) tradeapp.refreshSections(LIST);
  }

  function onList(run) {
    var section = listSection();
    if (!section) return;
    var rows = section.querySelectorAll('[data-backtest-id="' + run.id + '"]');
    rows.forEach(function (row) {
      var before = row.getAttribute("data-status");
      applyState(row, run);
      row.setAttribute("data-status", run.status);
      if (FINISHED.indexOf(run.status) >= 0 && before !== run.status) refreshList();
    });
    var firstPage = !/[?&]page=(?!1(?:&|$))/.test(window.location.search);
    if (!rows.length && firstPage) refreshList(); // a run started elsewhere
  }

  function syncList() {
    var section = listSection();
    if (!section) return;
    var unfinished = Array.from(section.querySelectorAll("tr[data-backtest-id]")).some(function (row) {
      return FINISHED.indexOf(row.getAttribute("data-status")) < 0;
    });
    if (unfinished) refreshList();
  }

  /* compare: exactly two runs */
  function updatePicks() {
    var section = listSection();
    if (!section) return;
    var boxes = Array.from(section.querySelectorAll("[data-compare-pick]"));
    var checked = boxes.filter(function (box) {
      return box.checked;
    });
    boxes.forEach(function (box) {
      box.disabled = checked.length >= 2 && !box.checked;
    });
    var button = section.querySelector("[data-compare-button]");
    if (button) button.disabled = checked.length !== 2;
    var hint = section.querySelector("[data-compare-hint]");
    if (hint) {
      hint.textContent =
        checked.length === 2
          ? "Two runs selected."
          : checked.length === 1
            ? "Tick one more completed run."
            : "Tick two completed runs to compare them.";
    }
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-compare-pick]")) return;
    if (box.checked) picked.add(box.value);
    else picked.delete(box.value);
    updatePicks();
  });

  document.addEventListener("tradeapp:refreshed", function () {
    var section = listSection();
    if (!section) return;
    var shown = new Set();
    section.querySelectorAll("[data-compare-pick]").forEach(function (box) {
      shown.add(box.value);
      box.checked = picked.has(box.value);
    });
    picked.forEach(function (id) {
      if (!shown.has(id)) picked.delete(id); // no longer on this page: not submitted either
    });
    updatePicks();
  });

  /* --- the stream ------------------------------------------------------------------------------ */
  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    if (!message || typeof message.stream !== "string" || message.stream.indexOf("user.") !== 0) return;
    if (message.event !== "backtest" || !message.data || !message.data.id) return;
    onDetail(message.data);
    onList(message.data);
  });

  // live-sections.js re-renders the list after a resync; the run's page asks the API
  document.addEventListener("tradeapp:resync", function (event) {
    var stream = event.detail && event.detail.stream;
    if (typeof stream === "string" && stream.indexOf("user.") === 0) syncDetail();
  });

  // events published between this page's render and the socket's welcome are not replayed: read once
  var synced = false;
  document.addEventListener("tradeapp:connection", function (event) {
    if (synced || !event.detail || event.detail.state !== "live") return;
    synced = true;
    syncDetail();
    syncList();
  });

  /* --- the form ---------------------------------------------------------------------------------- */
  var form = document.querySelector("[data-backtest-form]");

  function words(value) {
    return String(value || "").split(/\s+/).filter(Boolean);
  }

  function showKind() {
    if (!form) return;
    var chosen = form.querySelector('input[name="kind"]:checked');
    var kind = chosen ? chosen.value : "single";
    form.querySelectorAll("[data-kind-for]").forEach(function (element) {
      element.hidden = words(element.getAttribute("data-kind-for")).indexOf(kind) < 0;
    });
  }

  function showCosts() {
    if (!form) return;
    form.querySelectorAll("[data-cost-for]").forEach(function (element) {
      var select = form.querySelector('[name="' + element.getAttribute("data-cost-for") + '"]');
      var model = select ? select.value : "";
      element.hidden = words(element.getAttribute("data-cost-models")).indexOf(model) < 0;
    });
  }

  function addSymbol(symbol) {
    var field = form.querySelector('input[name="symbols"]');
    if (!field || !symbol) return;
    var symbols = field.value
      .split(",")
      .map(function (part) {
        return part.trim();
      })
      .filter(Boolean);
    var present = symbols.some(function (existing) {
      return window.tradeapp.api.symbolFromAlias(existing) === symbol.toUpperCase();
    });
    if (!present) symbols.push(symbol);
    field.value = symbols.join(", ");
    field.dispatchEvent(new Event("change", { bubbles: true }));
  }

  if (form) {
    form.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (name === "kind") showKind();
      if (name === "commission_model" || name === "slippage_model") showCosts();
    });
    showKind();
    showCosts();

    var search = form.querySelector("[data-symbol-search]");
    var list = search ? document.getElementById(search.getAttribute("aria-controls")) : null;
    var tradeapp = window.tradeapp || {};
    if (search && list && typeof tradeapp.instrumentCombobox === "function") {
      tradeapp.instrumentCombobox(search, list, {
        onChoose: function (instrument) {
          addSymbol(instrument.symbol);
          search.value = "";
        },
        onEnter: function (text, results) {
          if (!text) return true;
          var wanted = tradeapp.api.symbolFromAlias(text);
          var exact = results.filter(function (instrument) {
            return instrument.symbol.toUpperCase() === wanted;
          })[0];
          if (!exact) return true; // never submit the form from the search box
          addSymbol(exact.symbol);
          search.value = "";
          return true;
        },
        onEscape: function () {
          search.value = "";
        },
      });
    }

    // htmx swapped in another strategy's fields: they start at their defaults
    document.body.addEventListener("htmx:afterSettle", function () {
      showKind();
    });
  }

  // a page back from the history may have kept its ticks
  document.querySelectorAll("#backtest-runs [data-compare-pick]:checked").forEach(function (box) {
    picked.add(box.value);
  });
  updatePicks();
})();
