/* Trading on every signed-in page (loaded by base.html), listening to the user's own stream:

   - a toast for each fill ("Bought 0.5 BTC/USD @ 50,010.00"), from the websocket's "fill" event;
   - rows with data-order-id follow "order" events at once (status, filled quantity, average price);
     sections marked data-live="order fill" are re-rendered by live-sections.js; on every page, what
     it re-rendered (tradeapp:refreshed) is bound here again: local times, positions to revalue;
   - positions (tr[data-position]) revalue on every quote tick: price, market value, unrealised
     P&L, and the summary's equity and day P&L;
   - form[data-async] posts with fetch (Accept: application/json) and shows the answer as a toast
     or, in a dialog, next to the fields; without JavaScript these are ordinary forms;
   - the modify and exits dialogs, opened from a[data-modify] / a[data-exits] (links to their
     own pages without JavaScript), and <time data-local-time> shown in the browser's time zone.
   API: window.tradeapp.toast(message, {kind: "success" | "error" | "fill" | "info", href, linkText}). */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});
  var realtime = tradeapp.realtime;
  var toasts = document.getElementById("toasts");
  var TOAST_MS = 8000;
  var OPEN_STATUSES = ["new", "held", "accepted", "partially_filled", "pending_cancel", "pending_replace"];

  /* --- numbers ----------------------------------------------------------------------------- */
  function parse(text) {
    if (text === null || text === undefined || text === "") return NaN;
    return Number(String(text).replace(/,/g, ""));
  }

  function formatNumber(value, minPlaces, maxPlaces) {
    if (!Number.isFinite(value)) return "—";
    return new Intl.NumberFormat("en-US", {
      minimumFractionDigits: minPlaces,
      maximumFractionDigits: Math.max(minPlaces, maxPlaces === undefined ? minPlaces : maxPlaces),
    }).format(value);
  }

  function price(text) {
    var value = parse(text);
    var decimals = String(text).indexOf(".") < 0 ? 0 : String(text).length - String(text).indexOf(".") - 1;
    return formatNumber(value, 2, Math.min(10, Math.max(2, decimals)));
  }

  function signedMoney(value) {
    if (!Number.isFinite(value)) return "—";
    return (value > 0 ? "+" : "") + formatNumber(value, 2);
  }

  function signedPct(value) {
    if (!Number.isFinite(value)) return "—";
    return (value > 0 ? "+" : "") + value.toFixed(2) + "%";
  }

  function setSign(element, value) {
    element.classList.toggle("pos", value > 0);
    element.classList.toggle("neg", value < 0);
  }

  /* --- toasts ------------------------------------------------------------------------------ */
  function toast(message, options) {
    if (!toasts || !message) return null;
    options = options || {};
    var item = document.createElement("div");
    item.className = "toast toast-" + (options.kind || "info");
    var text = document.createElement("p");
    text.textContent = message;
    item.appendChild(text);
    if (options.href) {
      var link = document.createElement("a");
      link.href = options.href;
      link.textContent = options.linkText || "View";
      item.appendChild(link);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () {
      item.remove();
    });
    item.appendChild(close);
    toasts.appendChild(item);
    var timer = setTimeout(function () {
      item.remove();
    }, TOAST_MS);
    item.addEventListener("mouseenter", function () {
      clearTimeout(timer);
    });
    item.addEventListener("focusin", function () {
      clearTimeout(timer);
    });
    return item;
  }
  tradeapp.toast = toast;

  function fillMessage(fill) {
    var verb = fill.side === "sell" ? "Sold" : "Bought";
    return verb + " " + fill.quantity + " " + fill.symbol + " @ " + price(fill.price);
  }

  /* --- orders: rows follow the stream ------------------------------------------------------ */
  function updateOrder(order) {
    if (!order || !order.id) return;
    document.querySelectorAll('[data-order-id="' + order.id + '"]').forEach(function (row) {
      row.setAttribute("data-status", order.status);
      var status = row.querySelector('[data-field="status"]');
      if (status) {
        status.textContent = String(order.status).replace(/_/g, " ");
        status.setAttribute("data-status", order.status);
      }
      var filled = row.querySelector('[data-field="filled_quantity"]');
      if (filled && order.filled_quantity !== undefined) filled.textContent = order.filled_quantity;
      var average = row.querySelector('[data-field="average_fill_price"]');
      if (average && order.average_fill_price) average.textContent = price(order.average_fill_price);
      if (OPEN_STATUSES.indexOf(order.status) < 0) {
        row.querySelectorAll("[data-open-only]").forEach(function (element) {
          element.hidden = true;
        });
      }
    });
  }

  /* --- positions: revalue on each tick ------------------------------------------------------ */
  var positions = new Map(); // stream -> [row state]

  function bindPositions() {
    positions.clear();
    document.querySelectorAll("tr[data-position]").forEach(function (tr) {
      var stream = tr.getAttribute("data-stream");
      if (!stream) return;
      var quantity = parse(tr.getAttribute("data-quantity"));
      var averageCost = parse(tr.getAttribute("data-average-cost"));
      var valueCell = tr.querySelector('[data-field="market_value"]');
      var state = {
        tr: tr,
        quantity: quantity,
        averageCost: averageCost,
        places: parseInt(tr.getAttribute("data-places") || "2", 10),
        marketValue: valueCell ? parse(valueCell.textContent) : NaN,
        unrealized: NaN,
      };
      if (!positions.has(stream)) positions.set(stream, []);
      positions.get(stream).push(state);
    });
    if (positions.size && realtime) realtime.subscribe(Array.from(positions.keys()));
  }

  function revalue(stream, quote) {
    var rows = positions.get(stream);
    if (!rows || !quote) return;
    var last = parse(quote.last);
    var mark = last > 0 ? last : (parse(quote.bid) + parse(quote.ask)) / 2;
    if (!Number.isFinite(mark) || mark <= 0) return;
    rows.forEach(function (row) {
      row.marketValue = row.quantity * mark;
      row.unrealized = (mark - row.averageCost) * row.quantity;
      var cost = Math.abs(row.quantity) * row.averageCost;
      var cells = {
        price: row.tr.querySelector('[data-field="price"]'),
        value: row.tr.querySelector('[data-field="market_value"]'),
        pnl: row.tr.querySelector('[data-field="unrealized_pnl"]'),
        pct: row.tr.querySelector('[data-field="unrealized_pct"]'),
      };
      if (cells.price) cells.price.textContent = formatNumber(mark, row.places);
      if (cells.value) cells.value.textContent = formatNumber(row.marketValue, 2);
      if (cells.pnl) {
        cells.pnl.firstChild.textContent = signedMoney(row.unrealized) + " ";
        setSign(cells.pnl, row.unrealized);
      }
      if (cells.pct) cells.pct.textContent = "(" + signedPct(cost ? (row.unrealized * 100) / cost : NaN) + ")";
    });
    revalueSummary();
  }

  function revalueSummary() {
    var summary = document.querySelector("[data-summary]");
    if (!summary) return;
    var cash = parse(summary.getAttribute("data-cash"));
    var start = parse(summary.getAttribute("data-start-equity"));
    var value = 0;
    var unrealized = 0;
    var known = true;
    positions.forEach(function (rows) {
      rows.forEach(function (row) {
        if (!Number.isFinite(row.marketValue)) known = false;
        value += row.marketValue;
        if (Number.isFinite(row.unrealized)) unrealized += row.unrealized;
      });
    });
    if (!known || !Number.isFinite(cash)) return;
    var equity = cash + value;
    var equityEl = summary.querySelector('[data-summary-field="equity"]');
    if (equityEl) equityEl.firstChild.textContent = formatNumber(equity, 2) + " ";
    var dayEl = summary.querySelector('[data-summary-field="day_pnl"]');
    if (dayEl && Number.isFinite(start)) {
      var day = equity - start;
      dayEl.firstChild.textContent = signedMoney(day) + " ";
      var pct = dayEl.querySelector(".stat-pct");
      if (pct) pct.textContent = "(" + signedPct(start ? (day * 100) / start : NaN) + ")";
      setSign(dayEl, day);
    }
  }

  /* --- the websocket ------------------------------------------------------------------------ */
  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    if (!message || typeof message.stream !== "string") return;
    if (message.stream.indexOf("user.") === 0) {
      if (message.event === "fill") {
        var fill = message.data || {};
        toast(fillMessage(fill), { kind: "fill", href: fill.order_id ? "/orders/" + fill.order_id + "/" : null, linkText: "Order" });
      } else if (message.event === "order") {
        updateOrder(message.data);
      }
    } else if (message.event === "quote") {
      revalue(message.stream, message.data);
    }
  });

  /* live-sections.js swapped sections in: bind them as the first load did */
  document.addEventListener("tradeapp:refreshed", function () {
    localTimes(document);
    bindPositions();
  });

  /* --- forms posted with fetch --------------------------------------------------------------- */
  function clearFormErrors(form) {
    form.querySelectorAll(".field-invalid").forEach(function (field) {
      field.classList.remove("field-invalid");
    });
    form.querySelectorAll(".field-errors").forEach(function (list) {
      list.remove();
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (control) {
      control.removeAttribute("aria-invalid");
    });
    var box = form.querySelector("[data-form-errors]");
    if (box) box.hidden = true;
  }

  function showFormErrors(form, body) {
    var errors = body.errors || {};
    if (!Object.keys(errors).length) errors[body.field || "__all__"] = [body.message || "That did not work."];
    var general = [];
    var first = null;
    Object.keys(errors).forEach(function (name) {
      var messages = [].concat(errors[name]);
      var field = form.querySelector('[data-field-for="' + name + '"]');
      if (!field || field.hidden) {
        general = general.concat(messages);
        return;
      }
      field.classList.add("field-invalid");
      var control = field.querySelector("input, select, textarea");
      var list = document.createElement("ul");
      list.className = "field-errors";
      list.id = (control ? control.id : name) + "_error";
      messages.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        list.appendChild(item);
      });
      field.appendChild(list);
      if (control) {
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", list.id);
        first = first || control;
      }
    });
    var box = form.querySelector("[data-form-errors]");
    if (general.length && box) {
      var ul = box.querySelector("ul");
      ul.textContent = "";
      general.forEach(function (text) {
        var item = document.createElement("li");
        item.textContent = text;
        ul.appendChild(item);
      });
      box.hidden = false;
    }
    if (first) first.focus();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.matches || !form.matches("form[data-async]")) return;
    if (typeof window.fetch !== "function") return;
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    var buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach(function (button) {
      button.disabled = true;
    });
    var dialog = form.closest("dialog");
    if (dialog) clearFormErrors(form);
    tradeapp.postForm(form.action, new FormData(form))
      .then(function (answer) {
        if (answer.ok) {
          if (dialog && dialog.open) dialog.close();
          toast(answer.body.message, { kind: "success", href: answer.body.url, linkText: "View order" });
          if (answer.body.order) updateOrder(answer.body.order);
          tradeapp.refreshSections("order fill");
        } else if (dialog) {
          showFormErrors(form, answer.body);
        } else {
          toast(answer.body.message || "That did not work.", { kind: "error" });
        }
      })
      .catch(function () {
        toast("Could not reach the server. Try again.", { kind: "error" });
      })
      .then(function () {
        form.removeAttribute("aria-busy");
        buttons.forEach(function (button) {
          button.disabled = false;
        });
      });
  });

  /* --- the modify and exits dialogs ----------------------------------------------------------- */
  function camel(name) {
    return name.replace(/-([a-z])/g, function (match, letter) {
      return letter.toUpperCase();
    });
  }

  function openFormDialog(dialog, link) {
    var form = dialog.querySelector("form");
    form.action = link.href;
    clearFormErrors(form);
    var label = dialog.querySelector("[data-dialog-label]");
    if (label) label.textContent = link.getAttribute("data-order-label") || link.getAttribute("data-symbol") || "";
    var first = null;
    form.querySelectorAll("[data-value]").forEach(function (control) {
      var value = link.dataset[camel(control.getAttribute("data-value"))] || "";
      control.value = value;
      var field = control.closest(".field");
      if (field && field.hasAttribute("data-optional")) field.hidden = value === "";
      if (!first && !(field && field.hidden)) first = control;
    });
    var next = form.querySelector('input[name="next"]');
    if (next) next.value = window.location.pathname + window.location.search;
    dialog.opener = link;
    dialog.showModal();
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    if (!event.target.closest || event.defaultPrevented) return;
    var close = event.target.closest("[data-dialog-close]");
    if (close) {
      var owner = close.closest("dialog");
      if (owner) owner.close();
      return;
    }
    if (event.target.matches("dialog[open]")) {
      // a click on the backdrop (outside the dialog's box) closes it
      var box = event.target.getBoundingClientRect();
      var inside =
        event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) event.target.close();
      return;
    }
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    var link = event.target.closest("a[data-modify], a[data-exits]");
    if (!link) return;
    var dialog = document.getElementById(link.hasAttribute("data-modify") ? "modify-dialog" : "exits-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    openFormDialog(dialog, link);
  });

  document.querySelectorAll("dialog.form-dialog").forEach(function (dialog) {
    dialog.addEventListener("close", function () {
      if (dialog.opener && document.contains(dialog.opener)) dialog.opener.focus();
    });
  });

  /* --- times in the browser's zone ------------------------------------------------------------ */
  function localTimes(root) {
    root.querySelectorAll("time[data-local-time]:not([data-localized])").forEach(function (element) {
      var when = new Date(element.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      element.textContent = when.toLocaleString(undefined, {
        month: "short",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        second: element.closest("td") ? "2-digit" : undefined,
      });
      element.setAttribute("title", when.toISOString());
      element.setAttribute("data-localized", "");
    });
  }

  localTimes(document);
  bindPositions();
})();
