/* Runs synchronously in <head>, before the first paint: marks that JavaScript runs and applies the
   theme saved by the toggle (ui.js). Without a saved choice, CSS follows prefers-color-scheme. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");
  try {
    var theme = window.localStorage.getItem("tradeapp-theme");
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
    }
  } catch (error) {
    /* storage disabled (privacy mode): follow the system preference */
  }
})();
