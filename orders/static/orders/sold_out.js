// The barista queue's Menu strip (admin/orders/_sold_out.html): a tap posts the toggle without
// leaving the page, says what changed in a status line with an Undo for a few seconds, and
// re-reads the queue's panel (live.js) with focus kept on the tapped button. Without this
// script the forms post and the queue reloads with the same message; tapping again undoes.
(function () {
  "use strict";

  var UNDO_MS = 8000;
  var hideTimer = null;
  var pending = false;
  // The toggle the barista last used: the panel's re-renders replace it, so focus is put back on
  // its successor (until the barista moves on to something else).
  var focusId = null;

  function toast() {
    var box = document.getElementById("sold-out-toast");
    if (box) { return box; }
    box = document.createElement("div");
    box.id = "sold-out-toast";
    box.className = "sold-out-toast";
    box.setAttribute("role", "status");
    box.hidden = true;
    var text = document.createElement("span");
    text.className = "sold-out-toast-text";
    var undo = document.createElement("button");
    undo.type = "button";
    undo.className = "button touch sold-out-undo";
    undo.id = "sold-out-undo";
    undo.textContent = "Undo";
    box.appendChild(text);
    box.appendChild(undo);
    var queue = document.getElementById("barista-queue");
    queue.parentNode.insertBefore(box, queue);
    return box;
  }

  function say(message, undoData, toggleId) {
    var box = toast();
    box.querySelector(".sold-out-toast-text").textContent = message + " ";
    var undo = box.querySelector(".sold-out-undo");
    undo.hidden = !undoData;
    undo.onclick = undoData ? function () {
      // The Undo hides itself once done: the keyboard goes back to the toggle it undid.
      focusId = toggleId;
      send(undoData, null, toggleId);
    } : null;
    box.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () {
      var had = box.contains(document.activeElement);
      box.hidden = true;
      // A keyboard on the Undo when it goes goes back to the toggle, not to the page's top.
      var button = had && focusId && document.getElementById(focusId);
      if (button) { button.focus(); }
    }, UNDO_MS);
  }

  // Posts one toggle; `undoable` is the form data that reverses it (null for an Undo itself).
  function send(data, undoable, toggleId) {
    var form = document.querySelector("form.sold-out-form");
    pending = true;
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          // A refusal is said without an Undo: nothing changed.
          say(answer.message, response.ok ? undoable : null, toggleId);
          document.dispatchEvent(new Event("live:refresh"));
        });
      })
      .catch(function () { say("Not saved: check the connection and tap again.", null, null); })
      .finally(function () { pending = false; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form.sold-out-form");
    if (!form) { return; }
    event.preventDefault();
    if (pending) { return; }  // one change at a time: a second tap waits for the first
    var data = new FormData(form);
    var reverse = new FormData(form);
    reverse.set("off", data.get("off") === "1" ? "0" : "1");
    var button = form.querySelector("button");
    focusId = button.id;
    send(data, reverse, button.id);
  });

  document.addEventListener("focusin", function (event) {
    var toggle = event.target.closest && event.target.closest(".sold-out-toggle");
    if (toggle) { focusId = toggle.id; } else if (!event.target.closest(".sold-out-toast")) {
      focusId = null;
    }
  });

  // The panel was re-rendered: the toggle is a new element; keep the barista's place on it.
  document.addEventListener("live:updated", function () {
    var active = document.activeElement;
    if (!focusId || (active && active !== document.body)) { return; }
    var button = document.getElementById(focusId);
    if (button) { button.focus(); }
  });
})();
