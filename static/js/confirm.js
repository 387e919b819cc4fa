/* Asks before a destructive form is sent: any <form data-confirm="question"> (account reset, token
   revoke). Without JavaScript the form is sent straight away, as plain HTML would. */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
