/* The watchlists page: live quotes per row (flash green/red on each tick), a sparkline of the last day's
   5m bars, add (with autocomplete) / remove symbols, create / rename / delete lists. The table is
   rendered by the server; this file only enhances it and calls the REST API. */
(function () {
  "use strict";

  var tradeapp = window.tradeapp || {};
  var api = tradeapp.api;
  var section = document.getElementById("watchlist");
  if (!section || !api) return;

  var listId = section.getAttribute("data-watchlist-id");
  var statusEl = document.getElementById("wl-status");
  var rows = new Map(); // stream -> row state
  var FLASH_MS = 900;

  function say(text) {
    if (statusEl) statusEl.textContent = text || "";
  }

  function fail(error) {
    say(error && error.message ? error.message : "Something went wrong.");
  }

  document.querySelectorAll("#watchlist tbody tr[data-stream]").forEach(function (tr) {
    var tick = parseFloat(tr.getAttribute("data-tick") || "0.01");
    var lastText = tr.querySelector('[data-field="last"]').textContent;
    rows.set(tr.getAttribute("data-stream"), {
      tr: tr,
      symbol: tr.getAttribute("data-symbol"),
      urlSymbol: tr.getAttribute("data-url-symbol"),
      places: Math.max(0, Math.min(8, Math.round(-Math.log10(tick)))),
      last: parseFloat(lastText),
      closes: [],
      flashTimer: null,
    });
  });

  /* --- quotes ------------------------------------------------------------------------------- */
  function setCell(tr, field, text, sign) {
    var cell = tr.querySelector('[data-field="' + field + '"]');
    if (!cell) return;
    cell.textContent = text;
    cell.classList.toggle("pos", sign > 0);
    cell.classList.toggle("neg", sign < 0);
  }

  function flash(row, direction) {
    var tr = row.tr;
    tr.classList.remove("flash-up", "flash-down");
    void tr.offsetWidth; // restart: two ticks in a row flash twice
    tr.classList.add(direction > 0 ? "flash-up" : "flash-down");
    clearTimeout(row.flashTimer);
    row.flashTimer = setTimeout(function () {
      tr.classList.remove("flash-up", "flash-down");
    }, FLASH_MS);
  }

  function applyQuote(row, quote, live) {
    if (!quote) return;
    var last = parseFloat(quote.last);
    if (!Number.isFinite(last)) return;
    var change = quote.change === null ? NaN : parseFloat(quote.change);
    var pct = quote.change_pct === null ? NaN : parseFloat(quote.change_pct);
    setCell(row.tr, "last", last.toFixed(row.places), 0);
    setCell(row.tr, "change", Number.isFinite(change) ? (change > 0 ? "+" : "") + change.toFixed(row.places) : "—", change);
    setCell(row.tr, "change_pct", Number.isFinite(pct) ? (pct > 0 ? "+" : "") + pct.toFixed(2) + "%" : "—", pct);
    if (live && Number.isFinite(row.last) && last !== row.last) flash(row, last > row.last ? 1 : -1);
    row.last = last;
    if (live && row.closes.length) {
      row.closes[row.closes.length - 1] = last;
      drawSpark(row);
    }
  }

  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    var row = message && rows.get(message.stream);
    if (row && message.event === "quote") applyQuote(row, message.data, true);
  });

  var resyncTimer = null;
  document.addEventListener("tradeapp:resync", function (event) {
    if (!event.detail || !rows.has(event.detail.stream)) return;
    clearTimeout(resyncTimer);
    resyncTimer = setTimeout(refreshQuotes, 200); // a reconnect resyncs every stream at once
  });

  function refreshQuotes() {
    var list = Array.from(rows.values());
    if (!list.length) return;
    var symbols = list.map(function (row) {
      return row.urlSymbol;
    });
    api
      .get("/api/v1/quotes?symbols=" + encodeURIComponent(symbols.join(",")))
      .then(function (body) {
        var bySymbol = new Map(
          list.map(function (row) {
            return [row.symbol, row];
          })
        );
        (body.quotes || []).forEach(function (item) {
          var row = bySymbol.get(item.symbol);
          if (row) applyQuote(row, item.quote, false);
        });
      })
      .catch(function () {
        /* the next tick brings fresh prices */
      });
  }

  /* --- sparklines: the last day's 5m closes as an SVG polyline ------------------------------- */
  function drawSpark(row) {
    var svg = row.tr.querySelector(".spark");
    var polyline = svg && svg.querySelector("polyline");
    if (!polyline || row.closes.length < 2) return;
    var low = Math.min.apply(null, row.closes);
    var high = Math.max.apply(null, row.closes);
    var span = high - low || 1;
    var step = 96 / (row.closes.length - 1);
    polyline.setAttribute(
      "points",
      row.closes
        .map(function (close, index) {
          return (index * step).toFixed(1) + "," + (26 - ((close - low) / span) * 24).toFixed(1);
        })
        .join(" ")
    );
    var first = row.closes[0];
    var last = row.closes[row.closes.length - 1];
    svg.classList.toggle("pos", last > first);
    svg.classList.toggle("neg", last < first);
  }

  function loadSpark(row) {
    var end = new Date();
    var start = new Date(end.getTime() - 24 * 3600 * 1000);
    var query = new URLSearchParams({
      symbol: row.urlSymbol,
      timeframe: "5m",
      start: start.toISOString(),
      end: end.toISOString(),
      limit: "300",
    });
    api
      .get("/api/v1/bars?" + query.toString())
      .then(function (body) {
        row.closes = (body.bars || []).map(function (bar) {
          return parseFloat(bar.close);
        });
        row.tr.setAttribute("data-spark-points", String(row.closes.length));
        drawSpark(row);
      })
      .catch(function () {
        /* no sparkline is fine */
      });
  }

  rows.forEach(loadSpark);
  if (tradeapp.realtime) tradeapp.realtime.subscribe(Array.from(rows.keys()));

  /* --- remove / add ------------------------------------------------------------------------- */
  section.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    var action = button.getAttribute("data-action");
    if (action === "remove") removeRow(button.closest("tr"));
    else if (action === "new") showNameForm("create");
    else if (action === "rename") showNameForm("rename");
    else if (action === "cancel-name") hideNameForm();
    else if (action === "delete") deleteList();
  });

  function removeRow(tr) {
    var stream = tr.getAttribute("data-stream");
    var row = rows.get(stream);
    api
      .send("DELETE", "/api/v1/watchlists/" + listId + "/items/" + encodeURIComponent(row.urlSymbol))
      .then(function () {
        rows.delete(stream);
        if (tradeapp.realtime) tradeapp.realtime.unsubscribe([stream]);
        tr.remove();
        say("");
        if (!rows.size) window.location.reload(); // show the empty state
      })
      .catch(fail);
  }

  var addForm = document.getElementById("wl-add-form");
  var addInput = document.getElementById("wl-add-input");
  var addList = document.getElementById("wl-add-list");

  function addSymbol(symbol) {
    if (!symbol) return;
    api
      .send("POST", "/api/v1/watchlists/" + listId + "/items", { symbol: symbol })
      .then(function () {
        window.location.reload();
      })
      .catch(fail);
  }

  if (addForm && addInput && addList && tradeapp.instrumentCombobox) {
    tradeapp.instrumentCombobox(addInput, addList, {
      onChoose: function (instrument) {
        addInput.value = instrument.symbol;
        addSymbol(instrument.symbol);
      },
    });
    addForm.addEventListener("submit", function (event) {
      event.preventDefault();
      addSymbol(addInput.value.trim());
    });
  }

  /* --- create / rename / delete lists --------------------------------------------------------- */
  var nameForm = document.getElementById("wl-name-form");
  var nameInput = document.getElementById("wl-name-input");
  var nameLabel = document.getElementById("wl-name-label");
  var nameMode = null;

  function showNameForm(mode) {
    nameMode = mode;
    nameForm.hidden = false;
    nameLabel.textContent = mode === "create" ? "New watchlist name" : "Rename watchlist to";
    nameInput.value = mode === "rename" ? section.getAttribute("data-watchlist-name") : "";
    nameInput.focus();
  }

  function hideNameForm() {
    nameForm.hidden = true;
    nameMode = null;
  }

  if (nameForm) {
    nameForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = nameInput.value.trim();
      if (!name) return;
      var done =
        nameMode === "create"
          ? api.send("POST", "/api/v1/watchlists", { name: name }).then(function (created) {
              window.location.assign("/markets/?list=" + created.id);
            })
          : api.send("PATCH", "/api/v1/watchlists/" + listId, { name: name }).then(function () {
              window.location.reload();
            });
      done.catch(fail);
    });
  }

  function deleteList() {
    var name = section.getAttribute("data-watchlist-name");
    if (!window.confirm("Delete the watchlist “" + name + "”?")) return;
    api
      .send("DELETE", "/api/v1/watchlists/" + listId)
      .then(function () {
        window.location.assign("/markets/");
      })
      .catch(fail);
  }
})();
