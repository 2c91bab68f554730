/* Forms: the GOV.UK error summary (templates/forms/error_summary.html).
   After a failed submit the summary takes focus, so that keyboard and screen-reader users start
   at the list of problems. Following one of its links focuses that field and scrolls its label
   (or its group's legend) into view, below the sticky header, instead of only jumping to the
   input. Without this script the summary is still shown and its links still jump to the fields. */
(function () {
  "use strict";

  function questionFor(input) {
    // The whole field (label, input, error) when there is one; else the input itself.
    return input.closest(".field") || input.closest("fieldset") || input;
  }

  function focusTarget(summary, event) {
    var link = event.target.closest("a[href^='#']");
    if (!link || !summary.contains(link)) {
      return;
    }
    var input = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!input) {
      return;
    }
    event.preventDefault();
    questionFor(input).scrollIntoView({ block: "start" });
    input.focus({ preventScroll: true });
  }

  function start() {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) {
      return;
    }
    summary.addEventListener("click", function (event) {
      focusTarget(summary, event);
    });
    summary.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
