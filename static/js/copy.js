/* "Copy" buttons: <button data-copy-target="input-id" data-copy-status="status-id">. Uses the async
   clipboard API where the page is a secure context, else selects the text and tries execCommand;
   if both fail it tells the person to press Ctrl+C. Never throws. */
(function () {
  "use strict";

  function report(button, statusEl, copied) {
    if (statusEl) {
      statusEl.textContent = copied
        ? "Copied to the clipboard."
        : "The key is selected: press Ctrl+C (⌘C on a Mac) to copy it.";
    }
    button.textContent = copied ? "Copied" : "Copy";
    button.classList.toggle("is-copied", copied);
  }

  function copyBySelection(field) {
    field.focus();
    if (field.select) field.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) return;
    var statusEl = document.getElementById(button.getAttribute("data-copy-status") || "");
    var text = "value" in field ? field.value : field.textContent;

    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          report(button, statusEl, true);
        },
        function () {
          report(button, statusEl, copyBySelection(field));
        }
      );
    } else {
      report(button, statusEl, copyBySelection(field));
    }
  });
})();
