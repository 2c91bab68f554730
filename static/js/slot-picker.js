/* Slot picker: change week or visit type without reloading the page.
   The picker is plain links and a form, so it works without this script; with it, the same
   addresses are fetched as a fragment (X-Requested-With: fetch) and swapped in place. */
(function () {
  "use strict";

  var SELECTOR = "[data-slot-picker]";

  function picker() {
    return document.querySelector(SELECTOR);
  }

  function announce(text) {
    var status = document.querySelector("[data-picker-status]");
    if (status) {
      status.textContent = text;
    }
  }

  // `keep`: the control whose focus survives the swap (a visit type being chosen with the
  // arrow keys); without it focus goes to the week's heading (after "Earlier" / "Later").
  function load(url, push, keep) {
    var current = picker();
    if (!current) {
      window.location.href = url;
      return;
    }
    current.setAttribute("aria-busy", "true");
    current.classList.add("is-loading");
    announce("Loading times…");
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
        announce(fresh.getAttribute("data-picker-summary") || "");
        if (keep) {
          var same = fresh.querySelector(
            'input[name="' + keep.name + '"][value="' + keep.value + '"]'
          );
          if (same) {
            same.focus({ preventScroll: true });
          }
          return;
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
    load(form.action + "?" + query, true, { name: event.target.name, value: event.target.value });
  });

  window.addEventListener("popstate", function () {
    if (picker()) {
      load(window.location.href, false);
    }
  });
})();
