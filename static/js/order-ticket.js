/* The order ticket (templates/includes/order_ticket.html): on the symbol page, on the ticket page and
   in the quick-trade <dialog> that any [data-trade] link opens (watchlist rows, positions).

   Without this file the ticket is a plain POST form with a server-side review step. With it:
   - only the fields the chosen order type needs are shown (limit / stop / trail, dollars for market
     orders only, the bracket's two prices when "bracket" is ticked);
   - the estimated price, cost (or proceeds) and buying power after the order follow the live quote;
   - obvious mistakes are caught before anything is sent, next to their field;
   - "Review order" shows what will be sent; "Place order" posts it with fetch to the same URL
     (Accept: application/json); the server's errors land next to the field they name;
   - every order carries a client_order_id (a fresh one after each success): a double click, or a
     retry after a timeout, returns the first order instead of placing a second.
   Keyboard: Enter in any field reviews, Enter on "Place order" sends, Escape closes the dialog. */
(function () {
  "use strict";

  var tradeapp = (window.tradeapp = window.tradeapp || {});
  var realtime = tradeapp.realtime;
  // the server's own review step (no fields, hidden inputs) needs no help
  var forms = Array.from(document.querySelectorAll("form[data-ticket]")).filter(function (form) {
    return form.querySelector("[data-ticket-fields]");
  });
  if (!forms.length || typeof window.fetch !== "function") return;

  var OPEN_ORDER_TYPES_WITH_LIMIT = ["limit", "stop_limit"];
  var TYPES_WITH_STOP = ["stop", "stop_limit"];
  var TYPE_WORDS = {
    market: "market",
    limit: "limit",
    stop: "stop",
    stop_limit: "stop limit",
    trailing_stop: "trailing stop",
  };
  var TIF_WORDS = { day: "Day", gtc: "Good till canceled", ioc: "Immediate or cancel", fok: "Fill or kill" };

  /* --- numbers ------------------------------------------------------------------------------- */
  function parse(text) {
    if (text === null || text === undefined) return NaN;
    var cleaned = String(text).replace(/[,\s]/g, "");
    if (cleaned === "" || !/^[+-]?(\d+\.?\d*|\.\d+)$/.test(cleaned)) return NaN;
    return Number(cleaned);
  }

  function places(text) {
    var value = String(text || "");
    var dot = value.indexOf(".");
    return dot < 0 ? 0 : value.length - dot - 1;
  }

  function onGrid(value, step) {
    if (!(step > 0)) return true;
    var units = value / step;
    return Math.abs(units - Math.round(units)) < 1e-6;
  }

  function formatNumber(value, minPlaces, maxPlaces) {
    if (!Number.isFinite(value)) return "—";
    return new Intl.NumberFormat("en-US", {
      minimumFractionDigits: minPlaces,
      maximumFractionDigits: Math.max(minPlaces, maxPlaces),
    }).format(value);
  }

  function money(value) {
    return formatNumber(value, 2, 2);
  }

  function floorTo(value, step, digits) {
    if (!(step > 0)) return value;
    var units = Math.floor(value / step + 1e-9);
    return Number((units * step).toFixed(digits));
  }

  function newClientOrderId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID().replace(/-/g, "");
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (byte) {
      return byte.toString(16).padStart(2, "0");
    }).join("");
  }

  /* --- one ticket ---------------------------------------------------------------------------- */
  function Ticket(form) {
    this.form = form;
    this.dialog = form.closest("dialog");
    this.stage = "edit";
    this.snapshot = null;
    this.fields = form.querySelector("[data-ticket-fields]");
    this.review = form.querySelector("[data-ticket-review]");
    this.reviewText = form.querySelector("[data-review-text]");
    this.start = form.querySelector("[data-ticket-start]");
    this.placeButton = form.querySelector("[data-ticket-place]");
    this.result = form.querySelector("[data-ticket-result]");
    this.errorsBox = form.querySelector("[data-ticket-errors]");
    this.warning = form.querySelector("[data-ticket-warning]");
    this.read();
    this.bind();
    this.sync();
    if (this.stream && realtime) realtime.subscribe([this.stream]);
  }

  Ticket.prototype.el = function (name) {
    return this.form.elements.namedItem(name);
  };

  Ticket.prototype.value = function (name) {
    var element = this.el(name);
    if (!element) return "";
    if (element.type === "checkbox") return element.checked;
    return element.value;
  };

  /* the instrument, quote, buying power and position from the form's data attributes */
  Ticket.prototype.read = function () {
    var data = this.form.dataset;
    this.symbol = data.symbol || "";
    this.stream = data.stream || "";
    this.tick = parse(data.tick);
    this.lot = parse(data.lot);
    this.lotPlaces = places(data.lot);
    this.tickPlaces = Math.max(2, places(data.tick));
    this.minQuantity = parse(data.minQuantity);
    this.fractionable = data.fractionable === "true";
    this.assetClass = data.assetClass || "";
    this.bid = parse(data.bid);
    this.ask = parse(data.ask);
    this.last = parse(data.last);
    this.buyingPower = parse(data.buyingPower);
    this.held = parse(data.position);
    if (!Number.isFinite(this.held)) this.held = 0;
    this.currency = data.currency || "USD";
  };

  Ticket.prototype.bind = function () {
    var ticket = this;
    this.form.addEventListener("input", function () {
      if (ticket.stage === "edit") ticket.sync();
    });
    this.form.addEventListener("change", function (event) {
      if (ticket.stage !== "edit") return;
      var container = event.target.closest("[data-field-for]");
      if (container) ticket.clearFieldError(container);
      ticket.sync();
    });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (ticket.stage === "edit") ticket.toReview();
      else if (ticket.stage === "review") ticket.place();
    });
    this.form.addEventListener("keydown", function (event) {
      // Escape in the review step goes back to the fields (in the dialog, the dialog closes)
      if (event.key === "Escape" && ticket.stage === "review" && !ticket.dialog) {
        event.preventDefault();
        ticket.toEdit(true);
      }
    });
    var edit = this.form.querySelector("[data-ticket-edit]");
    if (edit) {
      edit.addEventListener("click", function () {
        ticket.toEdit(true);
      });
    }
  };

  Ticket.prototype.setText = function (selector, text) {
    var element = this.form.querySelector(selector);
    if (element) element.textContent = text;
  };

  /* --- what the order needs: show / hide fields ------------------------------------------------ */
  Ticket.prototype.sync = function () {
    var type = this.value("order_type") || "market";
    var side = this.value("side") || "buy";
    this.form.setAttribute("data-side", side);
    var dollars = this.form.querySelector('input[name="size_in"][value="notional"]');
    var units = this.form.querySelector('input[name="size_in"][value="quantity"]');
    if (dollars && units) {
      var dollarsAllowed = type === "market" && this.fractionable;
      dollars.disabled = !dollarsAllowed;
      if (!dollarsAllowed && dollars.checked) units.checked = true;
    }
    var size = this.value("size_in") || "quantity";
    var bracket = this.value("bracket") === true;
    this.form.querySelectorAll("[data-show-for]").forEach(function (element) {
      element.hidden = element.getAttribute("data-show-for").split(/\s+/).indexOf(type) < 0;
    });
    this.form.querySelectorAll("[data-show-size]").forEach(function (element) {
      element.hidden = element.getAttribute("data-show-size") !== size;
    });
    this.form.querySelectorAll("[data-show-bracket]").forEach(function (element) {
      element.hidden = !bracket;
    });
    var quantityLabel = this.form.querySelector('[data-field-for="quantity"] label');
    if (quantityLabel) quantityLabel.textContent = this.assetClass === "crypto" ? "Quantity (units)" : "Quantity (shares)";
    this.showQuote();
    this.estimate();
  };

  Ticket.prototype.showQuote = function () {
    var places = this.tickPlaces || 2;
    this.setText('[data-ticket-quote="bid"]', formatNumber(this.bid, places, places));
    this.setText('[data-ticket-quote="ask"]', formatNumber(this.ask, places, places));
    this.setText("[data-ticket-symbol]", this.symbol);
    this.setText("[data-ticket-held]", this.held ? " · Held " + this.held : "");
  };

  /* --- estimate: the price the risk check assumes, the amount, buying power after ------------- */
  Ticket.prototype.referencePrice = function () {
    var side = this.value("side") || "buy";
    var type = this.value("order_type") || "market";
    var book = side === "buy" ? this.ask : this.bid;
    if (!Number.isFinite(book)) book = this.last;
    if (OPEN_ORDER_TYPES_WITH_LIMIT.indexOf(type) >= 0) {
      var limit = parse(this.value("limit_price"));
      return Number.isFinite(limit) ? limit : book;
    }
    if (type === "stop") {
      var stop = parse(this.value("stop_price"));
      if (Number.isFinite(stop)) {
        if (!Number.isFinite(book)) return stop;
        return side === "buy" ? Math.max(book, stop) : Math.min(book, stop);
      }
    }
    return book;
  };

  Ticket.prototype.sizing = function () {
    var price = this.referencePrice();
    var quantity;
    var amount;
    if (this.value("size_in") === "notional") {
      amount = parse(this.value("notional"));
      quantity = Number.isFinite(price) && price > 0 ? floorTo(amount / price, this.lot, this.lotPlaces) : NaN;
    } else {
      quantity = parse(this.value("quantity"));
      amount = quantity * price;
    }
    return { price: price, quantity: quantity, amount: amount };
  };

  Ticket.prototype.estimate = function () {
    var side = this.value("side") || "buy";
    var sized = this.sizing();
    var after = NaN;
    if (Number.isFinite(sized.amount) && Number.isFinite(this.buyingPower)) {
      if (side === "buy") {
        after = this.buyingPower - sized.amount;
      } else {
        // selling what is held frees cash; selling beyond it (a short) holds its value back
        var closing = Math.min(Math.max(this.held, 0), sized.quantity);
        var opening = Math.max(0, sized.quantity - closing);
        after = this.buyingPower + (closing - opening) * sized.price;
      }
    }
    var places = this.tickPlaces || 2;
    this.setText('[data-estimate="price"]', formatNumber(sized.price, places, places));
    this.setText('[data-estimate="amount-label"]', side === "buy" ? "Est. cost" : "Est. proceeds");
    this.setText('[data-estimate="amount"]', Number.isFinite(sized.amount) ? money(sized.amount) : "—");
    this.setText('[data-estimate="buying-power"]', money(this.buyingPower));
    var afterEl = this.form.querySelector('[data-estimate="after"]');
    if (afterEl) {
      afterEl.textContent = Number.isFinite(after) ? money(after) : "—";
      afterEl.classList.toggle("neg", Number.isFinite(after) && after < 0);
    }
    if (this.warning) {
      var short = side === "buy" && Number.isFinite(after) && after < 0;
      this.warning.hidden = !short;
      this.warning.textContent = short
        ? "This is " + money(-after) + " " + this.currency + " more than your buying power."
        : "";
    }
    return sized;
  };

  /* --- client-side checks: only the obvious; the server decides ------------------------------ */
  Ticket.prototype.check = function () {
    var errors = {};
    var type = this.value("order_type") || "market";
    var side = this.value("side") || "buy";
    var tick = this.tick;
    var tickText = this.form.dataset.tick;
    function price(ticket, name, label) {
      var value = parse(ticket.value(name));
      if (ticket.value(name).trim() === "") errors[name] = "Enter " + label + ".";
      else if (!Number.isFinite(value)) errors[name] = "Enter a number.";
      else if (value <= 0) errors[name] = "Must be positive.";
      else if (!onGrid(value, tick)) errors[name] = "Use a multiple of the tick size, " + tickText + ".";
      return value;
    }
    if (!this.symbol) errors.__all__ = "Choose a symbol first.";
    if (this.value("size_in") === "notional") {
      var notional = parse(this.value("notional"));
      if (this.value("notional").trim() === "") errors.notional = "Enter an amount.";
      else if (!Number.isFinite(notional)) errors.notional = "Enter a number.";
      else if (notional <= 0) errors.notional = "Must be positive.";
    } else {
      var quantity = parse(this.value("quantity"));
      if (this.value("quantity").trim() === "") errors.quantity = "Enter a quantity.";
      else if (!Number.isFinite(quantity)) errors.quantity = "Enter a number.";
      else if (quantity <= 0) errors.quantity = "Must be positive.";
      else if (!onGrid(quantity, this.lot)) errors.quantity = "Use a multiple of the lot size, " + this.form.dataset.lot + ".";
      else if (Number.isFinite(this.minQuantity) && quantity < this.minQuantity)
        errors.quantity = "The minimum is " + this.form.dataset.minQuantity + ".";
    }
    var limit = OPEN_ORDER_TYPES_WITH_LIMIT.indexOf(type) >= 0 ? price(this, "limit_price", "a limit price") : NaN;
    var stop = TYPES_WITH_STOP.indexOf(type) >= 0 ? price(this, "stop_price", "a stop price") : NaN;
    if (type === "stop_limit" && Number.isFinite(limit) && Number.isFinite(stop) && !errors.limit_price) {
      if (side === "buy" && limit < stop) errors.limit_price = "A buy stop-limit needs a limit at or above the stop.";
      if (side === "sell" && limit > stop) errors.limit_price = "A sell stop-limit needs a limit at or below the stop.";
    }
    if (type === "trailing_stop") {
      var trail = parse(this.value("trail"));
      if (this.value("trail").trim() === "") errors.trail = "Enter the trail amount or percent.";
      else if (!Number.isFinite(trail) || trail <= 0) errors.trail = "Must be a positive number.";
      else if (this.value("trail_unit") === "percent" && trail >= 100) errors.trail = "A trail percent must be below 100.";
    }
    if (this.value("bracket") === true) {
      var target = price(this, "take_profit_price", "the take-profit price");
      var loss = price(this, "stop_loss_price", "the stop-loss price");
      if (Number.isFinite(target) && Number.isFinite(loss) && !errors.take_profit_price && !errors.stop_loss_price) {
        if (side === "buy" && target <= loss) errors.take_profit_price = "For a buy, the take-profit must be above the stop-loss.";
        if (side === "sell" && target >= loss) errors.take_profit_price = "For a sell, the take-profit must be below the stop-loss.";
      }
    }
    return errors;
  };

  /* --- errors next to their fields -------------------------------------------------------- */
  Ticket.prototype.clearFieldError = function (container) {
    container.classList.remove("field-invalid");
    container.querySelectorAll(".field-errors").forEach(function (list) {
      list.remove();
    });
    container.querySelectorAll("[aria-invalid]").forEach(function (control) {
      control.removeAttribute("aria-invalid");
    });
  };

  Ticket.prototype.clearErrors = function () {
    var ticket = this;
    this.form.querySelectorAll("[data-field-for]").forEach(function (container) {
      ticket.clearFieldError(container);
    });
    if (this.errorsBox) {
      this.errorsBox.hidden = true;
      this.errorsBox.querySelector("ul").textContent = "";
    }
  };

  /* errors: {field: message or [messages]}; "__all__" (or an unknown field) goes above the form */
  Ticket.prototype.showErrors = function (errors) {
    var ticket = this;
    var first = null;
    var general = [];
    Object.keys(errors).forEach(function (name) {
      var messages = [].concat(errors[name]);
      var container = name === "__all__" ? null : ticket.form.querySelector('[data-field-for="' + name + '"]');
      if (!container || container.closest("[hidden]")) {
        general = general.concat(messages);
        return;
      }
      ticket.clearFieldError(container);
      container.classList.add("field-invalid");
      var control = container.querySelector("input:not([type=hidden]), select, textarea");
      var list = document.createElement("ul");
      list.className = "field-errors";
      list.id = (control && control.id ? control.id : "ticket-" + name) + "_error";
      messages.forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      });
      container.appendChild(list);
      if (control) {
        control.setAttribute("aria-invalid", "true");
        var described = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
        if (described.indexOf(list.id) < 0) described.push(list.id);
        control.setAttribute("aria-describedby", described.join(" "));
        if (!first) first = control;
      }
    });
    if (general.length && this.errorsBox) {
      var ul = this.errorsBox.querySelector("ul");
      ul.textContent = "";
      general.forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        ul.appendChild(item);
      });
      this.errorsBox.hidden = false;
    }
    if (first) first.focus();
    else if (general.length && this.errorsBox) this.errorsBox.scrollIntoView({ block: "nearest" });
  };

  /* --- review, edit, place ------------------------------------------------------------------- */
  Ticket.prototype.describe = function (sized) {
    var side = this.value("side") || "buy";
    var type = this.value("order_type") || "market";
    var size =
      this.value("size_in") === "notional"
        ? "$" + money(parse(this.value("notional"))) + " of"
        : String(parse(this.value("quantity")));
    var places = this.tickPlaces || 2;
    var text = (side === "buy" ? "Buy " : "Sell ") + size + " " + this.symbol;
    text += type === "market" ? " at market" : " · " + TYPE_WORDS[type];
    if (OPEN_ORDER_TYPES_WITH_LIMIT.indexOf(type) >= 0) text += " · limit " + formatNumber(parse(this.value("limit_price")), places, places);
    if (TYPES_WITH_STOP.indexOf(type) >= 0) text += " · stop " + formatNumber(parse(this.value("stop_price")), places, places);
    if (type === "trailing_stop") text += " · trail " + this.value("trail") + (this.value("trail_unit") === "percent" ? "%" : "");
    text += " · " + (TIF_WORDS[this.value("time_in_force")] || this.value("time_in_force"));
    if (this.value("bracket") === true) {
      text +=
        " · take-profit " + formatNumber(parse(this.value("take_profit_price")), places, places) +
        ", stop-loss " + formatNumber(parse(this.value("stop_loss_price")), places, places);
    }
    if (Number.isFinite(sized.amount)) {
      text += ". Est. " + (side === "buy" ? "cost " : "proceeds ") + money(sized.amount) + " " + this.currency;
    }
    return text + ".";
  };

  Ticket.prototype.toReview = function () {
    this.clearErrors();
    this.setResult("");
    var errors = this.check();
    if (Object.keys(errors).length) {
      this.showErrors(errors);
      return;
    }
    var sized = this.estimate();
    this.snapshot = new FormData(this.form);
    this.snapshot.set("step", "place");
    if (this.reviewText) this.reviewText.textContent = this.describe(sized);
    this.stage = "review";
    this.form.classList.add("is-reviewing");
    if (this.fields) this.fields.disabled = true;
    if (this.start) this.start.hidden = true;
    if (this.review) this.review.hidden = false;
    if (this.placeButton) {
      this.placeButton.disabled = false;
      this.placeButton.textContent = "Place order";
      this.placeButton.focus();
    }
  };

  Ticket.prototype.toEdit = function (focus) {
    this.stage = "edit";
    this.snapshot = null;
    this.form.classList.remove("is-reviewing");
    if (this.fields) this.fields.disabled = false;
    if (this.review) this.review.hidden = true;
    if (this.start) this.start.hidden = false;
    this.sync();
    if (focus) this.focusFirst();
  };

  Ticket.prototype.focusFirst = function () {
    var quantity = this.form.querySelector('[data-field-for="quantity"]:not([hidden]) input, [data-field-for="notional"]:not([hidden]) input');
    (quantity || this.el("order_type")).focus();
  };

  Ticket.prototype.setResult = function (message, url) {
    if (!this.result) return;
    this.result.textContent = message || "";
    if (message && url) {
      this.result.appendChild(document.createTextNode(" "));
      var link = document.createElement("a");
      link.href = url;
      link.textContent = "View order";
      this.result.appendChild(link);
    }
  };

  Ticket.prototype.place = function () {
    var ticket = this;
    if (this.stage !== "review" || !this.snapshot) return;
    this.stage = "busy";
    if (this.placeButton) {
      this.placeButton.disabled = true;
      this.placeButton.textContent = "Placing…";
    }
    tradeapp.postForm(this.form.action, this.snapshot)
      .then(function (answer) {
        if (answer.ok) {
          ticket.placed(answer.body);
        } else {
          ticket.toEdit(false);
          ticket.showErrors(answer.body.errors || { __all__: answer.body.message || "The order was not placed." });
        }
      })
      .catch(function () {
        // the outcome is unknown: keep the client_order_id, so trying again cannot place it twice
        ticket.toEdit(false);
        ticket.showErrors({ __all__: "Could not reach the server. Check the connection and try again." });
      });
  };

  Ticket.prototype.placed = function (body) {
    var idInput = this.el("client_order_id");
    if (idInput) idInput.value = newClientOrderId();
    this.toEdit(false);
    this.setResult(body.message, body.url);
    this.refreshAccount();
    document.dispatchEvent(new CustomEvent("tradeapp:order-placed", { detail: body }));
    if (this.dialog && this.dialog.open) {
      this.dialog.close();
      if (tradeapp.toast) tradeapp.toast(body.message, { kind: "success", href: body.url, linkText: "View order" });
    } else {
      this.focusFirst();
    }
  };

  /* buying power and the position held change with every order and fill */
  Ticket.prototype.refreshAccount = function () {
    var ticket = this;
    var summaryUrl = this.form.dataset.summaryUrl;
    var positionsUrl = this.form.dataset.positionsUrl;
    if (!summaryUrl || !tradeapp.api) return;
    tradeapp.api
      .get(summaryUrl)
      .then(function (summary) {
        ticket.buyingPower = parse(summary.buying_power);
        ticket.form.dataset.buyingPower = summary.buying_power;
        return positionsUrl && ticket.symbol ? tradeapp.api.get(positionsUrl) : null;
      })
      .then(function (positions) {
        if (positions) {
          var mine = positions.filter(function (row) {
            return row.symbol === ticket.symbol;
          })[0];
          ticket.held = mine ? parse(mine.quantity) : 0;
        }
        if (ticket.stage === "edit") ticket.sync();
      })
      .catch(function () {
        /* the estimate keeps the last figures */
      });
  };

  Ticket.prototype.onQuote = function (quote) {
    var bid = parse(quote.bid);
    var ask = parse(quote.ask);
    var last = parse(quote.last);
    if (Number.isFinite(bid)) this.bid = bid;
    if (Number.isFinite(ask)) this.ask = ask;
    if (Number.isFinite(last)) this.last = last;
    this.showQuote();
    if (this.stage === "edit") this.estimate();
  };

  /* the quick-trade dialog: point the ticket at the trigger's instrument, then open it */
  Ticket.prototype.openFor = function (trigger) {
    var data = trigger.dataset;
    var form = this.form;
    ["symbol", "stream", "tick", "lot", "minQuantity", "fractionable", "assetClass", "bid", "ask", "last", "position"].forEach(
      function (key) {
        form.dataset[key] = data[key] || "";
      }
    );
    form.reset();
    this.read();
    this.el("symbol").value = this.symbol;
    this.el("client_order_id").value = newClientOrderId();
    var next = this.el("next");
    if (next) next.value = window.location.pathname + window.location.search;
    var side = this.form.querySelector('input[name="side"][value="' + (data.side === "sell" ? "sell" : "buy") + '"]');
    if (side) side.checked = true;
    this.el("time_in_force").value = this.assetClass === "crypto" ? "gtc" : "day";
    this.clearErrors();
    this.setResult("");
    this.toEdit(false);
    if (this.stream && realtime) realtime.subscribe([this.stream]);
    this.opener = trigger;
    this.dialog.showModal();
    this.focusFirst();
    this.refreshQuote();
    this.refreshAccount();
  };

  Ticket.prototype.refreshQuote = function () {
    var ticket = this;
    if (!tradeapp.api || !this.symbol) return;
    var symbol = this.symbol;
    tradeapp.api
      .get("/api/v1/quotes?symbols=" + encodeURIComponent(tradeapp.api.urlSymbol(symbol)))
      .then(function (body) {
        (body.quotes || []).forEach(function (item) {
          if (item.symbol === ticket.symbol && item.quote) ticket.onQuote(item.quote);
        });
      })
      .catch(function () {
        /* the stream brings the next price */
      });
  };

  var tickets = Array.from(forms, function (form) {
    return new Ticket(form);
  });
  var dialogTicket = tickets.filter(function (ticket) {
    return ticket.dialog;
  })[0];

  document.addEventListener("tradeapp:event", function (event) {
    var message = event.detail;
    if (!message || typeof message.stream !== "string") return;
    if (message.event === "quote") {
      tickets.forEach(function (ticket) {
        if (ticket.stream === message.stream) ticket.onQuote(message.data || {});
      });
    } else if (message.event === "fill" && message.stream.indexOf("user.") === 0) {
      tickets.forEach(function (ticket) {
        if (!ticket.dialog || ticket.dialog.open) ticket.refreshAccount();
      });
    }
  });

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest ? event.target.closest("[data-trade]") : null;
    if (!trigger || !dialogTicket || event.defaultPrevented) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    dialogTicket.openFor(trigger);
  });

  if (dialogTicket) {
    dialogTicket.dialog.addEventListener("close", function () {
      if (dialogTicket.stage === "review") dialogTicket.toEdit(false);
      if (dialogTicket.opener && document.contains(dialogTicket.opener)) dialogTicket.opener.focus();
    });
  }
})();
