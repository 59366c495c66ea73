// The display board shows as many order numbers as its screen holds, in large type: numbers
// that would fall below a list's box are hidden and counted in a "+N" at the end instead.
(function () {
  "use strict";

  function fit(list) {
    list.querySelectorAll("li.more").forEach(function (li) { li.remove(); });
    var items = Array.prototype.slice.call(list.querySelectorAll("li:not(.none)"));
    items.forEach(function (li) { li.hidden = false; });
    var bottom = list.parentElement.getBoundingClientRect().bottom;
    var extra = Number(list.dataset.more || 0);
    var more = document.createElement("li");
    more.className = "more";
    function count(n) { more.textContent = "+" + n; }
    if (extra) { count(extra); list.appendChild(more); }
    function overflows(li) { return li.getBoundingClientRect().bottom > bottom + 0.5; }
    var shown = items.length;
    while (shown > 0 && (overflows(items[shown - 1]) || (more.parentNode && overflows(more)))) {
      shown -= 1;
      items[shown].hidden = true;
      count(items.length - shown + extra);
      if (!more.parentNode) { list.appendChild(more); }
    }
  }

  function fitAll() { document.querySelectorAll(".board .numbers").forEach(fit); }

  document.addEventListener("DOMContentLoaded", fitAll);
  document.addEventListener("live:updated", fitAll);
  window.addEventListener("resize", fitAll);
})();
