// A form marked `data-busy="…"` can be sent once: on submit its submit button is disabled
// and shows the text of `data-busy` (e.g. 正在发送…), so a double click cannot send it
// twice. Without JavaScript the form still works; it just is not guarded.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-busy")) return;
    if (form.getAttribute("aria-busy") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("aria-busy", "true");
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.dataset.idleLabel = button.textContent;
      button.textContent = form.getAttribute("data-busy");
      // Disabled after the browser has read the form, so the submission still goes out.
      setTimeout(function () { button.disabled = true; }, 0);
    }
  });
  // Back to a page from the history cache: the form is ready to be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[aria-busy=true]").forEach(function (form) {
      form.removeAttribute("aria-busy");
      var button = form.querySelector("button[type=submit]");
      if (button) {
        button.disabled = false;
        if (button.dataset.idleLabel) button.textContent = button.dataset.idleLabel;
      }
    });
  });
})();
