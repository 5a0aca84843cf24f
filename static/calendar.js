// The calendar's drag and drop (app/src/tasks/calendar.rs), the way static/board.js does
// it for the opportunity board. Each day's entries are a SortableJS list; dropping an
// entry on another day puts that day, and the day it was picked up on, into the entry's
// own move form (the one that works without JavaScript) and submits it, so htmx posts it
// with the CSRF header and swaps in the refreshed calendar (the server moves the entry by
// as many days as it was dragged, so an entry of several days may be picked up on any of
// them). Entries the user may not change have no form and are locked. No inline code, no
// eval: this file runs under the app's strict CSP.
(function () {
  "use strict";

  function reload() {
    var body = document.getElementById("calendar-body");
    if (body) {
      htmx.ajax("GET", window.location.pathname + window.location.search, {
        source: body, target: "#calendar-body", select: "#calendar-body", swap: "outerHTML"
      });
    }
  }

  function moved(event) {
    var to = event.to.getAttribute("data-day");
    var from = event.from.getAttribute("data-day");
    if (!to || !from || to === from) {
      return;
    }
    var form = event.item.querySelector("form.cal-move-form");
    var date = form && form.querySelector("input[name=date]");
    var origin = form && form.querySelector("input[name=from]");
    if (!date || !origin) {
      reload();
      return;
    }
    date.value = to;
    origin.value = from;
    form.requestSubmit();
  }

  function init(root) {
    var lists = root.querySelectorAll ? root.querySelectorAll(".cal-entries") : [];
    Array.prototype.forEach.call(lists, function (list) {
      if (list.getAttribute("data-sortable") === "on") {
        return;
      }
      list.setAttribute("data-sortable", "on");
      Sortable.create(list, {
        group: "calendar",
        draggable: ".cal-item",
        filter: ".cal-locked, summary, label, input, button",
        preventOnFilter: false,
        // A day's entries are in time order; only moving to another day means something.
        sort: false,
        forceFallback: true,
        fallbackTolerance: 4,
        animation: 150,
        ghostClass: "cal-item-ghost",
        chosenClass: "cal-item-chosen",
        onEnd: moved
      });
    });
  }

  htmx.onLoad(init);
  // A refused move (an entry changed or deleted meanwhile): show the truth again.
  document.body.addEventListener("htmx:responseError", function (event) {
    if (event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#calendar-body")) {
      reload();
    }
  });
})();
