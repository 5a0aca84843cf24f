// The opportunity board's drag and drop (app/src/opportunities/board.rs). Each column's
// card list is a SortableJS list; dropping a card into another column puts the new stage
// into the card's own move form (the one that works without JavaScript) and submits it,
// so htmx posts it with the CSRF header and swaps in the new board, counts and totals
// included. Cards the user may not move are locked. No inline code, no eval: this file
// runs under the app's strict CSP.
(function () {
  "use strict";

  function reload() {
    var board = document.getElementById("board");
    if (board) {
      htmx.ajax("GET", window.location.pathname + window.location.search, {
        source: board, target: "#board", select: "#board", swap: "outerHTML"
      });
    }
  }

  function moved(event) {
    var to = event.to.getAttribute("data-stage");
    if (!to || to === event.from.getAttribute("data-stage")) {
      return;
    }
    var form = event.item.querySelector("form.stage-form");
    var select = form && form.querySelector("select[name=stage_id]");
    if (!select) {
      reload();
      return;
    }
    select.value = to;
    form.requestSubmit();
  }

  function init(root) {
    var lists = root.querySelectorAll ? root.querySelectorAll(".board-cards") : [];
    Array.prototype.forEach.call(lists, function (list) {
      if (list.getAttribute("data-sortable") === "on") {
        return;
      }
      list.setAttribute("data-sortable", "on");
      Sortable.create(list, {
        group: "opportunity-board",
        draggable: ".board-card",
        filter: ".board-card-locked, a, summary, select, button, input",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        animation: 150,
        ghostClass: "board-card-ghost",
        chosenClass: "board-card-chosen",
        onEnd: moved
      });
    });
  }

  htmx.onLoad(init);
  // A refused move (someone else's card, a stage retired meanwhile): show the truth again.
  document.body.addEventListener("htmx:responseError", function (event) {
    if (event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#board")) {
      reload();
    }
  });
})();
