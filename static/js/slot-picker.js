/* Slot picker: change week or visit type without reloading the page.
   The picker is plain links and a form, so it works without this script; with it, the same
   addresses are fetched as a fragment (X-Requested-With: fetch) and swapped in place. */
(function () {
  "use strict";

  var SELECTOR = "[data-slot-picker]";

  function picker() {
    return document.querySelector(SELECTOR);
  }

  function load(url, push) {
    var current = picker();
    if (!current) {
      window.location.href = url;
      return;
    }
    current.setAttribute("aria-busy", "true");
    current.classList.add("is-loading");
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.querySelector(SELECTOR);
        if (!fresh) {
          throw new Error("no picker in the answer");
        }
        current.replaceWith(fresh);
        if (push) {
          window.history.pushState({ slotPicker: true }, "", url);
        }
        var heading = fresh.querySelector(".slot-picker__range");
        if (heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus({ preventScroll: true });
        }
      })
      .catch(function () {
        window.location.href = url;
      });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-picker-link]");
    if (!link || event.defaultPrevented || event.button !== 0) {
      return;
    }
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    load(link.href, true);
  });

  document.addEventListener("change", function (event) {
    var form = event.target.closest("form[data-picker-form]");
    if (!form) {
      return;
    }
    var query = new URLSearchParams(new FormData(form)).toString();
    load(form.action + "?" + query, true);
  });

  window.addEventListener("popstate", function () {
    if (picker()) {
      load(window.location.href, false);
    }
  });
})();
