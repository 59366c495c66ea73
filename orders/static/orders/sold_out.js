// The barista queue's Menu strip (admin/orders/_sold_out.html): a tap posts the toggle without
// leaving the page, says what changed in a status line with an Undo for a few seconds, and
// re-reads the queue's panel (live.js) with focus kept on the tapped button. Without this
// script the forms post and the queue reloads with the same message; tapping again undoes.
(function () {
  "use strict";

  var UNDO_MS = 8000;
  var hideTimer = null;
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

  function say(message, undoData) {
    var box = toast();
    box.querySelector(".sold-out-toast-text").textContent = message + " ";
    var undo = box.querySelector(".sold-out-undo");
    undo.hidden = !undoData;
    undo.onclick = undoData ? function () { send(undoData, null); } : null;
    box.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () { box.hidden = true; }, UNDO_MS);
  }

  // Posts one toggle; `undoable` is the form data that reverses it (null for an Undo itself).
  function send(data, undoable) {
    var form = document.querySelector("form.sold-out-form");
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        say(answer.message, undoable);
        document.dispatchEvent(new Event("live:refresh"));
      })
      .catch(function () { say("Not saved: check the connection and tap again.", null); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form.sold-out-form");
    if (!form) { return; }
    event.preventDefault();
    var data = new FormData(form);
    var reverse = new FormData(form);
    reverse.set("off", data.get("off") === "1" ? "0" : "1");
    var button = form.querySelector("button");
    focusId = button.id;
    button.disabled = true;
    send(data, reverse).then(function () { button.disabled = false; });
  });

  // The panel was re-rendered: the tapped button is a new element; keep the barista's place.
  document.addEventListener("live:updated", function () {
    if (!focusId) { return; }
    var active = document.activeElement;
    if (!active || active === document.body) {
      var button = document.getElementById(focusId);
      if (button) { button.focus(); }
    }
    focusId = null;
  });
})();
