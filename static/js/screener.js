/* The screener: top gainers and losers from /api/v1/instruments (order=-change_pct / change_pct) under the
   form's filters. The form is a plain GET form, so filters live in the URL and survive a reload. */
(function () {
  "use strict";

  var api = window.tradeapp && window.tradeapp.api;
  var form = document.getElementById("screener-form");
  var statusEl = document.getElementById("sc-status");
  if (!api || !form) return;

  var LIMIT = "15";

  function cell(tr, text, className) {
    var td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function fill(table, instruments) {
    var tbody = table.querySelector("tbody");
    tbody.textContent = "";
    if (!instruments.length) {
      var tr = document.createElement("tr");
      var td = cell(tr, "No instruments match these filters.", "muted");
      td.colSpan = 4;
      tbody.appendChild(tr);
      return;
    }
    instruments.forEach(function (instrument) {
      var tr = document.createElement("tr");
      var first = cell(tr, "");
      var link = document.createElement("a");
      link.className = "wl-symbol";
      link.href = "/markets/" + encodeURIComponent(api.urlSymbol(instrument.symbol)) + "/";
      link.textContent = instrument.symbol;
      first.appendChild(link);
      cell(tr, instrument.name, "wl-name");
      var quote = instrument.quote;
      cell(tr, quote ? quote.last : "—", "num");
      var pct = quote && quote.change_pct !== null ? parseFloat(quote.change_pct) : NaN;
      cell(
        tr,
        Number.isFinite(pct) ? (pct > 0 ? "+" : "") + pct.toFixed(2) + "%" : "—",
        "num" + (pct > 0 ? " pos" : pct < 0 ? " neg" : "")
      );
      tbody.appendChild(tr);
    });
  }

  function load() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim()) params.set(key, String(value).trim());
    });
    params.set("limit", LIMIT);
    statusEl.textContent = "";
    ["gainers", "losers"].forEach(function (id) {
      var table = document.getElementById(id);
      params.set("order", table.getAttribute("data-order"));
      api
        .get("/api/v1/instruments?" + params.toString())
        .then(function (page) {
          var rows = (page.results || []).filter(function (instrument) {
            var pct = instrument.quote && parseFloat(instrument.quote.change_pct);
            return id === "gainers" ? pct > 0 : pct < 0;
          });
          fill(table, rows);
        })
        .catch(function (error) {
          statusEl.textContent = error.message;
        });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim()) params.set(key, String(value).trim());
    });
    window.history.replaceState(null, "", "?" + params.toString());
    load();
  });
  load();
})();
