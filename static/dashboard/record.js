/* Consultation record: add rows to the prescription and test lists, save the draft as the
   doctor types (every few seconds after a change), and confirm before finalising. */
(function () {
  "use strict";

  var form = document.querySelector("form[data-autosave-url]");
  if (!form) {
    return;
  }
  var status = form.querySelector("[data-autosave-status]");
  var dirty = false;
  var saving = false;
  var edits = 0; // bumped on every change, to tell whether a save is still up to date
  var submitting = false;

  function addRow(prefix) {
    var rows = form.querySelector('[data-formset="' + prefix + '"]');
    var total = form.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var last = rows.querySelector("[data-formset-row]:last-of-type");
    if (!rows || !total || !last) {
      return;
    }
    var index = parseInt(total.value, 10);
    var clone = last.cloneNode(true);
    clone.querySelectorAll("input, textarea, select").forEach(function (field) {
      ["name", "id"].forEach(function (attr) {
        var value = field.getAttribute(attr);
        if (value) {
          field.setAttribute(attr, value.replace(/-\d+-/, "-" + index + "-"));
        }
      });
      field.value = "";
    });
    clone.querySelectorAll(".error-message, .errorlist").forEach(function (el) {
      el.remove();
    });
    // The screen-reader labels end with the row's number ("Drug 3").
    clone.querySelectorAll(".w-sr-only").forEach(function (label) {
      label.textContent = label.textContent.replace(/\d+\s*$/, String(index + 1));
    });
    rows.appendChild(clone);
    total.value = index + 1;
    var first = clone.querySelector("input, textarea");
    if (first) {
      first.focus();
    }
  }

  function save() {
    if (!dirty || saving) {
      return;
    }
    saving = true;
    dirty = false;
    var sentAt = edits;
    var data = new FormData(form);
    data.set("action", "save");
    status.textContent = "Saving…";
    fetch(form.getAttribute("data-autosave-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (result) {
        if (!result.ok) {
          status.textContent =
            "Not saved: " + Object.values(result.body.errors || {}).flat().join(" ");
        } else if (edits !== sentAt) {
          status.textContent = "Unsaved changes"; // typed while saving: the next round saves
        } else {
          status.textContent = "Draft saved " + result.body.saved_at;
        }
      })
      .catch(function () {
        status.textContent = "Not saved (connection problem); it will be tried again.";
        dirty = true;
      })
      .finally(function () {
        saving = false;
      });
  }

  form.addEventListener("input", function () {
    dirty = true;
    edits += 1;
    status.textContent = "Unsaved changes";
  });
  window.addEventListener("beforeunload", function (event) {
    if ((dirty || saving) && !submitting) {
      event.preventDefault(); // the browser asks before leaving unsaved changes
    }
  });
  window.setInterval(save, 5000);

  document.querySelectorAll("[data-formset-add]").forEach(function (button) {
    button.addEventListener("click", function () {
      addRow(button.getAttribute("data-formset-add"));
    });
  });

  form.addEventListener("submit", function () {
    // Finalising asks first in Wagtail's dialog, whose buttons submit this form.
    dirty = false; // the form itself is being sent
    submitting = true;
  });
})();
