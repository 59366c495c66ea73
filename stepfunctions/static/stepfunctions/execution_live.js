/* The execution page follows a running execution: about once a second it asks the live view
   (admin/executions.py, ExecutionAdmin.live_view) for the diagram with the path taken so far, the
   status, the history and the output, and shows them, until the execution ends. No inline script
   (the pages' CSP): loaded as the ExecutionAdmin's Media. */
(function () {
  "use strict";
  var PERIOD = 1000;

  function readonly(field) {
    return document.querySelector(".field-" + field + " .readonly");
  }

  function show(state) {
    var svg = document.getElementById("execution-svg");
    if (svg) svg.innerHTML = state.diagram;
    var status = readonly("status");
    if (status) status.textContent = state.status_display;
    var history = readonly("history_table");
    if (history) history.innerHTML = state.history;
    var output = readonly("output_json");
    if (output) output.innerHTML = state.output;
    var box = document.getElementById("execution-diagram");
    box.dataset.status = state.status;
    if (!state.running) {
      var live = document.getElementById("execution-live");
      if (live) live.textContent = "The execution has ended: " + state.status_display + ".";
      var stop = document.getElementById("stop-execution-link");
      if (stop) stop.parentNode.removeChild(stop);
    }
  }

  function follow(box) {
    var url = box.dataset.live;
    function ask() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (answer) {
          if (!answer.ok) throw new Error("live view: " + answer.status);
          return answer.json();
        })
        .then(function (state) {
          show(state);
          if (state.running) window.setTimeout(ask, PERIOD);
        })
        .catch(function () {
          // A dropped request (a restart, the network): try again a little later.
          window.setTimeout(ask, PERIOD * 3);
        });
    }
    window.setTimeout(ask, PERIOD);
  }

  function start() {
    var box = document.getElementById("execution-diagram");
    if (box && box.dataset.live && box.dataset.status === "RUNNING") follow(box);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
