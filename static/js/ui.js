/* Page chrome: the phone menu, the theme toggle, dismissable messages and auto-submitting selects; and
   the JSON helpers every page script uses: tradeapp.postForm (a form posted to a page URL that answers
   JSON) and tradeapp.api (the REST API with the session). Every control also works (or degrades to
   plain HTML) without this file. */
(function () {
  "use strict";

  var root = document.documentElement;
  var THEME_KEY = "tradeapp-theme";
  var darkQuery = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  /* --- JSON over fetch: forms posted to page URLs (tradeapp.core.pages), reads of the API -------- */
  var tradeapp = (window.tradeapp = window.tradeapp || {});

  /* POST ``body`` (FormData) to ``url`` asking for JSON; resolves to {ok, status, body}. An answer that
     is not JSON (a proxy's error page) becomes {ok: false, body: {message}}; a network failure rejects. */
  tradeapp.postForm = function (url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(
        function (answer) {
          return { ok: response.ok, status: response.status, body: answer };
        },
        function () {
          var message = "The server answered " + response.status + ": try again.";
          return { ok: false, status: response.status, body: { message: message } };
        }
      );
    });
  };

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (error) {
      /* fall back to the cookie */
    }
    var match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
    return match ? decodeURIComponent(match[1]) : "";
  }

  /* The REST API with the session: JSON in and out, the CSRF token on writes. Resolves to the parsed
     body (null for 204); an answer that is not OK rejects with Error(its {"message"}), one that is not
     JSON with Error("Request failed (<status>)."); a network failure rejects too. */
  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") options.headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      if (response.status === 204) return null;
      return response.json().then(
        function (data) {
          if (!response.ok) throw new Error((data && data.message) || "Request failed (" + response.status + ").");
          return data;
        },
        function () {
          throw new Error("Request failed (" + response.status + ").");
        }
      );
    });
  }

  tradeapp.api = {
    get: function (url) {
      return request("GET", url);
    },
    send: request,
    // the alias rule of marketdata/symbols.py: "/" is written "-" in URLs and stream names
    urlSymbol: function (symbol) {
      return String(symbol).replace(/\//g, "-");
    },
    // what a typed or URL spelling stands for: "btc-usd" -> "BTC/USD"
    symbolFromAlias: function (text) {
      return String(text).toUpperCase().replace(/-/g, "/");
    },
  };

  /* --- phone menu --------------------------------------------------------------------------- */
  var topbar = document.getElementById("topbar");
  var navToggle = document.getElementById("nav-toggle");

  function setMenu(open) {
    if (!topbar || !navToggle) return;
    topbar.classList.toggle("nav-open", open);
    navToggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  if (navToggle) {
    navToggle.addEventListener("click", function () {
      setMenu(!topbar.classList.contains("nav-open"));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && topbar.classList.contains("nav-open")) {
        setMenu(false);
        navToggle.focus();
      }
    });
  }

  /* --- theme -------------------------------------------------------------------------------- */
  var themeToggle = document.getElementById("theme-toggle");

  function currentTheme() {
    return root.getAttribute("data-theme") === "dark" ? "dark" : "light";
  }

  function savedTheme() {
    try {
      return window.localStorage.getItem(THEME_KEY);
    } catch (error) {
      return null;
    }
  }

  function labelThemeToggle() {
    if (!themeToggle) return;
    var dark = currentTheme() === "dark";
    var label = dark ? "Switch to light theme" : "Switch to dark theme";
    themeToggle.setAttribute("aria-pressed", dark ? "true" : "false");
    themeToggle.setAttribute("aria-label", label);
    themeToggle.setAttribute("title", label);
  }

  function applyTheme(theme) {
    root.setAttribute("data-theme", theme);
    labelThemeToggle();
    document.dispatchEvent(new CustomEvent("tradeapp:theme", { detail: { theme: theme } }));
  }

  function setTheme(theme) {
    try {
      window.localStorage.setItem(THEME_KEY, theme);
    } catch (error) {
      /* not persisted; still applied to this page */
    }
    applyTheme(theme);
  }

  /* without a saved choice the page follows the system theme, also when it changes */
  if (darkQuery && darkQuery.addEventListener) {
    darkQuery.addEventListener("change", function (event) {
      var saved = savedTheme();
      if (saved !== "light" && saved !== "dark") applyTheme(event.matches ? "dark" : "light");
    });
  }

  if (themeToggle) {
    themeToggle.addEventListener("click", function () {
      setTheme(currentTheme() === "dark" ? "light" : "dark");
    });
    labelThemeToggle();
  }

  /* --- messages ----------------------------------------------------------------------------- */
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-dismiss]") : null;
    if (!button) return;
    var message = button.closest(".msg");
    if (message) message.remove();
  });

  /* --- selects that submit their form on change (the account switcher) ------------------------ */
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-autosubmit]") || !select.form) return;
    var option = select.options[select.selectedIndex];
    var action = option && option.getAttribute("data-action");
    if (action) select.form.setAttribute("action", action);
    if (select.form.requestSubmit) {
      select.form.requestSubmit();
    } else {
      select.form.submit();
    }
  });

  /* --- read-only inputs that select their whole value on focus (API key box) ------------------ */
  document.addEventListener("focusin", function (event) {
    var input = event.target;
    if (input.matches && input.matches("input[data-select-on-focus]")) input.select();
  });
})();
