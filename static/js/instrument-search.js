/* Instrument search: an accessible combobox over /api/v1/instruments?q= (the ARIA 1.2 pattern: the input
   keeps focus, aria-activedescendant points at the highlighted option), used by the top bar's search box
   (press "/" anywhere to focus it; Enter opens the symbol page; Escape closes) and by the watchlist's
   "Add symbol" field. */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});

  var counter = 0;

  /* Wire input[role=combobox] + ul[role=listbox]. onChoose(instrument) runs on Enter/click on an option;
     onEnter(text) on Enter with nothing highlighted (return true when handled). */
  function combobox(input, list, options) {
    var id = "combo-" + ++counter;
    var results = [];
    var active = -1;
    var timer = null;
    var seq = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      active = index;
      items.forEach(function (item, position) {
        item.setAttribute("aria-selected", position === index ? "true" : "false");
      });
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function render() {
      list.textContent = "";
      if (!results.length) {
        var none = document.createElement("li");
        none.className = "muted";
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.id = id + "-none";
        none.textContent = "No matching instruments";
        list.appendChild(none);
      }
      results.forEach(function (instrument, index) {
        var item = document.createElement("li");
        item.id = id + "-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        var symbol = document.createElement("span");
        symbol.className = "opt-symbol";
        symbol.textContent = instrument.symbol;
        var name = document.createElement("span");
        name.className = "opt-name";
        name.textContent = instrument.name;
        item.appendChild(symbol);
        item.appendChild(name);
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the input
        });
        item.addEventListener("click", function () {
          choose(index);
        });
        list.appendChild(item);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function choose(index) {
      var instrument = results[index];
      if (!instrument) return;
      close();
      options.onChoose(instrument);
    }

    function search() {
      var text = input.value.trim();
      if (!text) {
        results = [];
        close();
        return;
      }
      var mine = ++seq;
      tradeapp.api
        .get("/api/v1/instruments?" + new URLSearchParams({ q: text, limit: "8" }).toString())
        .then(function (page) {
          if (mine !== seq || document.activeElement !== input) return;
          results = page.results || [];
          render();
        })
        .catch(function () {
          if (mine === seq) close();
        });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && results.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) search();
        else highlight(Math.min(results.length - 1, active + 1));
      } else if (event.key === "ArrowUp") {
        if (!open) return;
        event.preventDefault();
        highlight(Math.max(0, active - 1));
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          choose(active);
        } else if (options.onEnter && options.onEnter(input.value.trim(), results)) {
          event.preventDefault();
          close();
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          event.stopPropagation();
          close();
        } else if (options.onEscape) {
          options.onEscape();
        }
      }
    });
    input.addEventListener("blur", function () {
      setTimeout(close, 120);
    });
    return { close: close };
  }

  tradeapp.instrumentCombobox = combobox;

  /* --- the top bar's search ------------------------------------------------------------------ */
  var globalInput = document.getElementById("global-search");
  var globalList = document.getElementById("global-search-list");
  if (!globalInput || !globalList) return;

  function open(symbol) {
    window.location.assign("/markets/" + encodeURIComponent(tradeapp.api.urlSymbol(symbol)) + "/");
  }

  combobox(globalInput, globalList, {
    onChoose: function (instrument) {
      open(instrument.symbol);
    },
    onEnter: function (text, results) {
      if (!text) return true;
      var exact = results.filter(function (instrument) {
        return instrument.symbol.toUpperCase() === text.toUpperCase().replace(/-/g, "/") ||
          instrument.symbol.toUpperCase() === text.toUpperCase();
      })[0];
      var target = exact || results[0];
      if (target) {
        open(target.symbol);
        return true;
      }
      return false; // no match shown yet: the form goes to the screener with ?q=
    },
    onEscape: function () {
      globalInput.blur();
    },
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    event.preventDefault();
    globalInput.focus();
    globalInput.select();
  });
})();
