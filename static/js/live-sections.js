/* Live sections on every signed-in page (loaded by base.html after realtime.js, before the page
   scripts): parts of a page that the server re-renders when the user's own stream says they changed,
   so the server stays the one place that lays out a table.

   - A section is <… id="…" data-live="order fill">: the names are events of the user stream
     (`order`, `fill`, `backtest`, `strategy_deployment`, `strategy_signal`…). On such an event the
     sections listing it are re-rendered: this page is fetched again (GET, Accept: text/html) and each
     section is swapped for the element with its id in the answer. Events are coalesced (one fetch
     ~250 ms after the first, one fetch in flight; events during a fetch bring another after it).
   - A reconnect or a gap in the stream's sequence numbers (tradeapp:resync of a user.* stream)
     re-renders every live section.
   - A section holding the focused input, select or textarea is left alone and tried again ~2 s later:
     never pull a form from under someone typing. A redirect (signed out) or an error answer changes
     nothing; the next event or resync tries again.
   - A name no event carries (e.g. "backtest-list") is refreshed only when a page script asks for it:
     for pages that decide from the event's data whether a refresh is worth it.
   API: window.tradeapp.refreshSections(kinds?) re-renders the sections listing one of `kinds`
   (space-separated names; none: every live section), e.g. after the page's own POST. After a swap,
   `document` gets `tradeapp:refreshed` with detail {sections: [the new elements]}, for the page
   scripts to bind them again (orders.js shows their times and revalues their positions).
   Whatever a page must remember across a swap (a ticked checkbox, the signals already seen) stays
   in that page's script. */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});
  var DELAY_MS = 250;
  var TYPING_RETRY_MS = 2000;

  var pending = new Set(); // ids of the sections waiting to be re-rendered
  var timer = null;
  var dueAt = 0;
  var fetching = false;

  function words(value) {
    return String(value || "")
      .split(/\s+/)
      .filter(Boolean);
  }

  function sectionsListing(kinds) {
    var wanted = words(kinds);
    return Array.from(document.querySelectorAll("[data-live][id]")).filter(function (section) {
      if (!wanted.length) return true;
      return words(section.getAttribute("data-live")).some(function (kind) {
        return wanted.indexOf(kind) >= 0;
      });
    });
  }

  function typingIn(section) {
    var active = document.activeElement;
    return !!active && section.contains(active) && active.matches("input, select, textarea");
  }

  /* run in ``delay`` ms, or sooner if a run is already due sooner: events join the coming fetch */
  function wake(delay) {
    var due = Date.now() + delay;
    if (timer !== null && dueAt <= due) return;
    clearTimeout(timer);
    dueAt = due;
    timer = setTimeout(run, delay);
  }

  function schedule(sections) {
    if (!sections.length) return;
    sections.forEach(function (section) {
      pending.add(section.id);
    });
    wake(DELAY_MS);
  }

  function run() {
    timer = null;
    if (fetching) return; // the fetch's end wakes us again
    var ids = Array.from(pending).filter(function (id) {
      return document.getElementById(id);
    });
    if (!ids.length) {
      pending.clear();
      return;
    }
    var busy = ids.every(function (id) {
      return typingIn(document.getElementById(id));
    });
    if (busy) {
      wake(TYPING_RETRY_MS); // nothing could be swapped: do not fetch the page for nothing
      return;
    }
    pending = new Set();
    fetching = true;
    var retry = [];
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("not refreshed");
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var swapped = [];
        ids.forEach(function (id) {
          var section = document.getElementById(id);
          var replacement = fresh.getElementById(id);
          if (!section || !replacement) return;
          if (typingIn(section)) {
            retry.push(id);
            return;
          }
          var element = document.importNode(replacement, true);
          section.replaceWith(element);
          swapped.push(element);
        });
        if (swapped.length) {
          document.dispatchEvent(new CustomEvent("tradeapp:refreshed", { detail: { sections: swapped } }));
        }
      })
      .catch(function () {
        /* signed out, a server error or no network: the next event or resync tries again */
      })
      .then(function () {
        fetching = false;
        var arrived = pending.size > 0; // events that came during the fetch: it may predate them
        retry.forEach(function (id) {
          pending.add(id);
        });
        if (arrived) wake(DELAY_MS);
        else if (retry.length) wake(TYPING_RETRY_MS);
      });
  }

  tradeapp.refreshSections = function (kinds) {
    schedule(sectionsListing(kinds));
  };

  function userStream(stream) {
    return typeof stream === "string" && stream.indexOf("user.") === 0;
  }

  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    if (!message || !userStream(message.stream)) return;
    if (typeof message.event !== "string" || !message.event) return;
    schedule(sectionsListing(message.event));
  });

  document.addEventListener("tradeapp:resync", function (event) {
    if (event.detail && userStream(event.detail.stream)) schedule(sectionsListing());
  });
})();
