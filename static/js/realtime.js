/* The page's one websocket to /ws/ (only when <body data-ws-url> is set, i.e. signed in).

   Messages are hints, not the truth: Channels delivers at most once. Each stream carries an
   increasing `seq`; on a gap, or after any reconnect, the module fires `tradeapp:resync` (detail:
   {stream, reason}) so the page re-fetches that stream's state from the REST API.

   Events on `document`:
     tradeapp:event       detail = the {"type":"event", stream, event, seq, data} message
     tradeapp:resync      detail = {stream, reason: "gap" | "reconnect"}
     tradeapp:connection  detail = {state: "connecting" | "live" | "reconnecting" | "offline"}
     tradeapp:ws-error    detail = a {"type":"error", code, message, ...} message
   API: window.tradeapp.realtime.subscribe(streams) / unsubscribe(streams) / state.

   A socket that cannot connect is normal (server restart, laptop asleep): it only changes the
   indicator and retries with exponential backoff up to 30 s; nothing is thrown or logged. */
(function () {
  "use strict";

  var BASE_DELAY_MS = 1000;
  var MAX_DELAY_MS = 30000;
  var OFFLINE_AFTER_FAILURES = 5;
  var PING_EVERY_MS = 25000;
  var SILENT_TOO_LONG_MS = 60000;

  var tradeapp = (window.tradeapp = window.tradeapp || {});
  var body = document.body;
  var path = body ? body.getAttribute("data-ws-url") : null;
  var indicator = document.getElementById("conn-state");

  var subscriptions = new Set(); // streams the page asked for, re-sent after every (re)connect
  var ownStreams = []; // streams the server put us in (the welcome message)
  var lastSeq = new Map(); // stream -> last seq seen
  var socket = null;
  var welcomed = false;
  var everWelcomed = false;
  var failures = 0;
  var retryTimer = null;
  var pingTimer = null;
  var lastMessageAt = 0;
  var stopped = false;

  var api = {
    state: path ? "connecting" : "disabled",
    subscribe: function (streams) {
      var added = names(streams).filter(function (stream) {
        if (subscriptions.has(stream)) return false;
        subscriptions.add(stream);
        return true;
      });
      if (added.length && welcomed) send({ action: "subscribe", streams: added });
    },
    unsubscribe: function (streams) {
      var removed = names(streams).filter(function (stream) {
        lastSeq.delete(stream);
        return subscriptions.delete(stream);
      });
      if (removed.length && welcomed) send({ action: "unsubscribe", streams: removed });
    },
  };
  tradeapp.realtime = api;

  if (!path || typeof window.WebSocket !== "function") {
    return;
  }

  function names(streams) {
    var list = Array.isArray(streams) ? streams : [streams];
    return list.filter(function (stream) {
      return typeof stream === "string" && stream.length > 0;
    });
  }

  function fire(type, detail) {
    try {
      document.dispatchEvent(new CustomEvent(type, { detail: detail }));
    } catch (error) {
      /* a very old browser without CustomEvent: pages simply get no events */
    }
  }

  function setState(state) {
    if (api.state === state) return;
    api.state = state;
    if (indicator) {
      indicator.textContent = state;
      indicator.setAttribute("data-state", state);
    }
    fire("tradeapp:connection", { state: state });
  }

  function socketUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    try {
      return new URL(path, scheme + "//" + window.location.host).href;
    } catch (error) {
      return null;
    }
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    try {
      socket.send(JSON.stringify(message));
      return true;
    } catch (error) {
      return false;
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (stopped || socket) return;
    if (navigator.onLine === false) {
      setState("offline"); // the "online" event reconnects
      return;
    }
    var url = socketUrl();
    var ws;
    try {
      ws = url ? new WebSocket(url) : null;
    } catch (error) {
      ws = null;
    }
    if (!ws) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    welcomed = false;
    ws.onopen = function () {
      lastMessageAt = Date.now();
      startPing();
    };
    ws.onmessage = function (event) {
      lastMessageAt = Date.now();
      handle(event.data);
    };
    ws.onerror = function () {
      /* always followed by onclose, which decides what to do */
    };
    ws.onclose = function () {
      if (socket !== ws) return;
      socket = null;
      welcomed = false;
      stopPing();
      if (!stopped) scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    failures += 1;
    var delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * Math.pow(2, failures - 1));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4)); // jitter: not every tab at once
    var offline = navigator.onLine === false || failures > OFFLINE_AFTER_FAILURES;
    setState(offline ? "offline" : "reconnecting");
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, Math.min(delay, MAX_DELAY_MS));
  }

  function startPing() {
    stopPing();
    pingTimer = setInterval(function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      if (Date.now() - lastMessageAt > SILENT_TOO_LONG_MS) {
        socket.close(4000, "silent"); // half-open connection: reconnect and resync
        return;
      }
      send({ action: "ping", id: Date.now() });
    }, PING_EVERY_MS);
  }

  function stopPing() {
    clearInterval(pingTimer);
    pingTimer = null;
  }

  function handle(raw) {
    var message;
    try {
      message = JSON.parse(raw);
    } catch (error) {
      return;
    }
    if (!message || typeof message !== "object") return;
    if (message.type === "welcome") {
      onWelcome(message);
    } else if (message.type === "event") {
      onEvent(message);
    } else if (message.type === "error") {
      if (message.code === "invalid_stream" && typeof message.stream === "string") {
        subscriptions.delete(message.stream); // do not ask again after every reconnect
      }
      fire("tradeapp:ws-error", message);
    }
    /* subscribed / unsubscribed / pong need no action */
  }

  function onWelcome(message) {
    var reconnected = everWelcomed;
    welcomed = true;
    everWelcomed = true;
    failures = 0;
    ownStreams = names(message.streams || []);
    setState("live");
    if (subscriptions.size) send({ action: "subscribe", streams: Array.from(subscriptions) });
    if (reconnected) {
      // anything may have happened while we were away: every stream re-fetches its state
      var streams = new Set(ownStreams.concat(Array.from(subscriptions), Array.from(lastSeq.keys())));
      lastSeq.clear();
      streams.forEach(function (stream) {
        fire("tradeapp:resync", { stream: stream, reason: "reconnect" });
      });
    }
  }

  function onEvent(message) {
    if (typeof message.stream !== "string") return;
    var seq = Number(message.seq);
    var previous = lastSeq.get(message.stream);
    var gap = false;
    if (Number.isFinite(seq)) {
      gap = previous !== undefined && seq !== previous + 1;
      lastSeq.set(message.stream, seq);
    }
    fire("tradeapp:event", message);
    if (gap) fire("tradeapp:resync", { stream: message.stream, reason: "gap" });
  }

  window.addEventListener("online", function () {
    if (stopped) return;
    failures = 0;
    if (!socket) connect();
  });
  window.addEventListener("offline", function () {
    setState("offline");
  });
  window.addEventListener("pagehide", function () {
    stopped = true;
    clearTimeout(retryTimer);
    stopPing();
    // closing a socket that is still connecting makes the browser log a warning: leave it
    if (socket && socket.readyState === WebSocket.OPEN) socket.close(1000, "page hidden");
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return; // back/forward cache: the page comes back without reloading
    stopped = false;
    failures = 0;
    socket = null;
    connect();
  });

  connect();
})();
