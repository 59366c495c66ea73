// Live pages without a build step: an element with data-live-stream (an SSE URL) and
// data-live-panel (a fragment URL) re-fetches its fragment whenever an event arrives
// (only events about data-live-order, when set). Countdowns and ages tick in the browser.
// Re-rendering keeps keyboard focus where it was, and each change of a panel's [data-announce]
// text is told once through the page's one live region (#announcer), which is never re-rendered.
(function () {
  "use strict";

  // The page's polite live region. Setting the same text twice is not a second announcement:
  // it is cleared first, so a screen reader hears each change once.
  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region || !text) { return; }
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 100);
  }

  // What identifies an element across re-renders: its data-focus-key, its id, or (for a form
  // field) its name and value.
  function focusKey(field) {
    if (field.dataset && field.dataset.focusKey) { return "key:" + field.dataset.focusKey; }
    if (field.id) { return "#" + field.id; }
    if (field.name) { return field.name + "=" + (field.type === "radio" ? field.value : ""); }
    return null;
  }

  var FOCUSABLE = "button, summary, a[href], input:not([type=hidden]), select, textarea";

  function visible(node) { return node && node.getClientRects().length > 0; }

  // Where the focus was in a panel about to be re-rendered: the element's key, and the focus
  // group (a queue card) it sat in and that group's place, for when the element is gone.
  function focusTake(root) {
    var active = document.activeElement;
    if (!active || active === document.body || !root.contains(active)) { return null; }
    var group = active.closest("[data-focus-group]");
    var groups = Array.prototype.slice.call(root.querySelectorAll("[data-focus-group]"));
    return {
      key: focusKey(active),
      group: group ? group.dataset.focusGroup : null,
      index: group ? groups.indexOf(group) : -1
    };
  }

  function firstFocusable(node) {
    var found = null;
    node.querySelectorAll(FOCUSABLE).forEach(function (candidate) {
      if (!found && visible(candidate) && !candidate.disabled) { found = candidate; }
    });
    return found;
  }

  // Back to the same element; if it is gone, to its group's first control, else to the group
  // now in its place (the next card, else the one before), else to the panel's heading; never
  // to <body>.
  function focusGive(root, taken) {
    if (!taken) { return; }
    var target = null;
    root.querySelectorAll(FOCUSABLE + ", [id], [data-focus-key]").forEach(function (node) {
      if (!target && taken.key && focusKey(node) === taken.key && visible(node)) { target = node; }
    });
    var groups = Array.prototype.slice.call(root.querySelectorAll("[data-focus-group]"));
    if (!target && taken.group) {
      var same = groups.filter(function (g) { return g.dataset.focusGroup === taken.group; })[0];
      var near = same || groups[taken.index] || groups[taken.index - 1];
      target = near ? firstFocusable(near) : null;
    }
    target = target || root.querySelector("[data-focus-fallback]");
    if (target) { target.focus({ preventScroll: true }); }
  }

  function announced(root) {
    var node = root.querySelector("[data-announce]");
    return node ? node.textContent.trim() : "";
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Counts from the server's clock, not the screen's: a board whose clock is off still shows the
  // right countdown. The offset is taken once, when the element is first ticked after rendering.
  function serverNow(el) {
    if (el.dataset.offset === undefined) {
      var server = Date.parse(el.dataset.serverNow || "");
      el.dataset.offset = isNaN(server) ? "0" : String(server - Date.now());
    }
    return Date.now() + Number(el.dataset.offset);
  }

  // Deadlines already warned of (by value): a re-rendered countdown is not warned of twice; a
  // deadline moved on (more time given) is a new one.
  var warned = {};

  function tick() {
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Math.max(0, Math.round((Date.parse(el.dataset.deadline) - serverNow(el)) / 1000));
      el.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
      var warning = el.dataset.warning && document.getElementById(el.dataset.warning);
      if (warning && left > 0 && left <= Number(el.dataset.warnBefore)) {
        warning.hidden = false;
        if (!warned[el.dataset.deadline]) {
          warned[el.dataset.deadline] = true;
          announce(warning.textContent);
        }
      }
      if (left === 0 && el.hasAttribute("data-refresh-at-zero") && !el.dataset.fired) {
        el.dataset.fired = "1";
        document.dispatchEvent(new Event("live:refresh"));
      }
    });
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var age = Math.max(0, Math.round((serverNow(el) - Date.parse(el.dataset.since)) / 1000));
      el.textContent = Math.floor(age / 60) + ":" + pad(age % 60);
      el.classList.remove("age-green", "age-amber", "age-red");
      el.classList.add(age < 120 ? "age-green" : age < 300 ? "age-amber" : "age-red");
    });
  }

  // What the person has chosen or typed in a panel, so that re-rendering it on an event does not
  // throw their half-made order away (hidden fields, such as the CSRF token, come fresh).
  function inputs(root) {
    var state = {};
    root.querySelectorAll("details[id]").forEach(function (details) {
      state["#" + details.id] = details.open;
    });
    root.querySelectorAll("input, select, textarea").forEach(function (field) {
      if (!field.name || field.type === "hidden" || field.type === "submit") { return; }
      if (field.type === "radio" || field.type === "checkbox") {
        state[field.name + "=" + field.value] = field.checked;
      } else {
        state[field.name] = field.value;
      }
    });
    return state;
  }

  function restore(root, state) {
    root.querySelectorAll("details[id]").forEach(function (details) {
      if (state["#" + details.id]) { details.open = true; }
    });
    root.querySelectorAll("input, select, textarea").forEach(function (field) {
      if (!field.name || field.type === "hidden" || field.type === "submit") { return; }
      var key = field.type === "radio" || field.type === "checkbox"
        ? field.name + "=" + field.value : field.name;
      if (!(key in state)) { return; }
      if (key === field.name) { field.value = state[key]; } else { field.checked = state[key]; }
    });
  }

  function live(el) {
    var pending = false, again = false;
    function refresh() {
      // One fetch at a time; an event arriving meanwhile asks for one more after it, so the
      // last event is never lost to a fetch that started before it.
      if (pending) { again = true; return; }
      pending = true;
      fetch(el.dataset.livePanel, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var typed = inputs(el);
          var focus = focusTake(el);
          var said = announced(el);
          el.innerHTML = html;
          restore(el, typed);
          wire(el);
          tick();
          focusGive(el, focus);
          if (announced(el) !== said) { announce(announced(el)); }
          el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
        })
        .catch(function () {})
        .finally(function () {
          pending = false;
          if (again) { again = false; refresh(); return; }
          // "connected" once the page has caught up with the open stream, not merely once the
          // stream opened: what the screen shows from then on is current.
          if (source && source.readyState === EventSource.OPEN) {
            document.body.dataset.live = "connected";
          }
        });
    }
    // The stream reconnects by itself after a dropped connection; an answer that is not a
    // stream (a proxy's 502 while the server restarts, a refusal) closes it for good, so then
    // a new one is opened, a little later each time (up to 15 s). Every (re)connect catches up.
    var delay = 1000, source = null, heard = Date.now();
    function connect() {
      if (source) { source.close(); }
      heard = Date.now();
      source = new EventSource(el.dataset.liveStream);
      source.addEventListener("heartbeat", function () { heard = Date.now(); });
      source.onopen = function () {
        heard = Date.now();
        // Catch up on whatever happened between rendering the page (or the stream dropping) and
        // subscribing: pub/sub keeps no history.
        delay = 1000;
        refresh();
      };
      source.onerror = function () {
        document.body.dataset.live = "reconnecting";
        if (this.readyState === EventSource.CLOSED && this === source) {
          setTimeout(connect, delay);
          delay = Math.min(delay * 2, 15000);
        }
      };
      source.onmessage = function (message) {
        heard = Date.now();
        var order = el.dataset.liveOrder;
        if (order) {
          var envelope = JSON.parse(message.data);
          var mine = envelope.detail && String(envelope.detail.orderId) === order;
          // The shop's and the menu's changes (the config topic) concern every order page.
          if (!mine && !/^ConfigService\./.test(envelope["detail-type"])) { return; }
        }
        refresh();
      };
    }
    connect();
    // The server sends a heartbeat every 10 s. A dropped network can leave the stream looking
    // open with nothing coming through: after 25 s of silence, start afresh.
    setInterval(function () {
      if (Date.now() - heard > 25000) {
        document.body.dataset.live = "reconnecting";
        connect();
      }
    }, 5000);
    // The browser says when the network is gone and back: start afresh once it is back.
    window.addEventListener("offline", function () { document.body.dataset.live = "reconnecting"; });
    window.addEventListener("online", connect);
    document.addEventListener("live:refresh", refresh);
    // A screen left on all day (the display board) also re-reads itself now and then.
    if (el.dataset.liveEvery) { setInterval(refresh, Number(el.dataset.liveEvery) * 1000); }
  }

  // The drink form shows the modifiers of the chosen drink only.
  function wire(root) {
    root.querySelectorAll(".drink-form").forEach(function (form) {
      function show() {
        form.querySelectorAll(".drink-choice").forEach(function (set) {
          var radio = set.querySelector("input[type=radio]");
          set.classList.toggle("chosen", radio.checked);
        });
      }
      form.classList.add("js");
      form.addEventListener("change", show);
      show();
    });
  }

  // After an action's page load: focus goes to the element the address's ?focus= names (the
  // first control of a card, or the panel's heading when the card is gone), and the action's
  // message is told. (Not a #fragment: the browser's own scroll to it would take the focus.)
  function arrive() {
    var name = new URLSearchParams(location.search).get("focus");
    var panel = document.querySelector("[data-live-stream]");
    if (name && panel) {
      history.replaceState(null, "", location.pathname);
      var named = document.getElementById(name);
      var target = named && (named.matches(FOCUSABLE) ? named : firstFocusable(named));
      target = target || panel.querySelector("[data-focus-fallback]");
      if (target) { target.focus(); }
    }
    var told = document.querySelectorAll(".messages li, ul.messagelist li");
    announce(Array.prototype.map.call(told, function (li) { return li.textContent.trim(); })
      .join(" "));
  }

  document.addEventListener("live:announce", function (event) { announce(event.detail); });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-stream]").forEach(live);
    wire(document);
    tick();
    setInterval(tick, 1000);
    arrive();
  });
})();
