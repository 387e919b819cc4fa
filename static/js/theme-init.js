/* Runs synchronously in <head>, before the first paint: marks that JavaScript runs and sets
   <html data-theme> to the theme saved by the toggle (ui.js) or, without one, to the system's
   prefers-color-scheme. The stylesheets key every colour on data-theme alone. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");
  var theme = null;
  try {
    theme = window.localStorage.getItem("tradeapp-theme");
  } catch (error) {
    /* storage disabled (privacy mode): follow the system preference */
  }
  if (theme !== "light" && theme !== "dark") {
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    theme = dark ? "dark" : "light";
  }
  root.setAttribute("data-theme", theme);
})();
