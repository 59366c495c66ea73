// The barista queue: a visual cue (and, when turned on, a short sound) when a new order arrives.
// The queue's panel is re-read live by live.js; new cards are the ones not seen before.
(function () {
  "use strict";

  var CUE_MS = 10000;
  var seen = null;
  var arrivedAt = {};
  var cueTimer = null;

  function soundOn() { return localStorage.getItem("queue-sound") === "on"; }

  function showSound(button) {
    button.textContent = soundOn() ? "Sound: on" : "Sound: off";
    button.setAttribute("aria-pressed", soundOn() ? "true" : "false");
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return; }
    var audio = new Context();
    var tone = audio.createOscillator();
    var gain = audio.createGain();
    tone.frequency.value = 880;
    gain.gain.value = 0.2;
    tone.connect(gain);
    gain.connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.25);
  }

  function scan() {
    var cards = document.querySelectorAll("#queue [data-order]");
    var now = {};
    var arrived = [];
    cards.forEach(function (card) {
      var id = card.dataset.order;
      now[id] = true;
      if (seen !== null && !seen[id]) { arrived.push(card); }
    });
    seen = now;
    arrived.forEach(function (card) { arrivedAt[card.dataset.order] = Date.now(); });
    // A card stays marked for its time even when the panel is re-rendered meanwhile.
    cards.forEach(function (card) {
      var fresh = Date.now() - (arrivedAt[card.dataset.order] || 0) < CUE_MS;
      card.classList.toggle("arrived", fresh);
      if (fresh) {
        setTimeout(function () { card.classList.remove("arrived"); }, CUE_MS);
      }
    });
    if (!arrived.length) { return; }
    var numbers = arrived.map(function (card) {
      return card.querySelector(".number").textContent;
    });
    var cue = document.getElementById("new-order-cue");
    cue.textContent = (numbers.length === 1 ? "New order " : "New orders ") + numbers.join(", ");
    document.dispatchEvent(new CustomEvent("live:announce", { detail: cue.textContent }));
    cue.hidden = false;
    clearTimeout(cueTimer);
    cueTimer = setTimeout(function () { cue.hidden = true; }, CUE_MS);
    if (soundOn()) { beep(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("sound-toggle");
    showSound(button);
    button.addEventListener("click", function () {
      localStorage.setItem("queue-sound", soundOn() ? "off" : "on");
      showSound(button);
      if (soundOn()) { beep(); }
    });
    scan();
  });
  document.addEventListener("live:updated", scan);
  // The Cancel confirmation (delegated: the panel is re-rendered live). Opened, focus moves to
  // its safe answer, "No, keep it" (the group around it is named by the question); "No, keep it"
  // or Escape closes it and focus goes back to "Cancel…", which reappears.
  function closeConfirm(details) {
    details.open = false;
    details.querySelector("summary").focus();
  }
  document.addEventListener("click", function (event) {
    var keep = event.target.closest("[data-close-details]");
    if (keep) { closeConfirm(keep.closest("details")); return; }
    var summary = event.target.closest("details.cancel > summary");
    if (summary) {
      // After the browser has opened it (the click's default action).
      setTimeout(function () {
        var details = summary.parentElement;
        if (details.open) { details.querySelector("[data-close-details]").focus(); }
      }, 0);
    }
  });
  document.addEventListener("keydown", function (event) {
    var details = event.key === "Escape" && event.target.closest && event.target.closest("details.cancel[open]");
    if (details) { event.preventDefault(); closeConfirm(details); }
  });
})();
