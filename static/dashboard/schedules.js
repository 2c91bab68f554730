/* Schedules screen: the week editor's presets, "Add window" and "Remove" work in the page, and
   the preview's visit type choice applies at once. Without this file the same buttons submit the
   form and the server shows the page again with the rows changed (nothing is saved until
   "Save week"). */
(() => {
  "use strict";

  const WORKING_WEEK = [0, 1, 2, 3, 4];

  function setUp(form) {
    const template = form.querySelector("template[data-window-template]");
    const presetsScript = document.getElementById("cp-presets");
    if (!template || !presetsScript) return;
    const presets = JSON.parse(presetsScript.textContent);
    let counter = 1000; // ids of rows made here never clash with the server's

    const dayRow = (weekday) => form.querySelector(`tr[data-day="${weekday}"]`);

    function refresh(row) {
      const windows = row.querySelectorAll("[data-window]");
      row.querySelector("[data-day-off]").hidden = windows.length > 0;
      windows.forEach((item, n) => {
        item.querySelectorAll("label").forEach((label) => {
          label.textContent = label.textContent.replace(/window \d+/, `window ${n + 1}`);
        });
      });
    }

    function addWindow(row, start = "", end = "") {
      const weekday = row.dataset.day;
      counter += 1;
      const number = row.querySelectorAll("[data-window]").length + 1;
      const html = template.innerHTML
        .replaceAll("__DAY__", weekday)
        .replaceAll("__LABEL__", row.dataset.dayLabel)
        .replaceAll("__INDEX__", String(counter))
        .replaceAll("__NUMBER__", String(number));
      const list = row.querySelector("[data-windows]");
      list.insertAdjacentHTML("beforeend", html.trim());
      const item = list.lastElementChild;
      const [startInput, endInput] = item.querySelectorAll("input");
      startInput.value = start;
      endInput.value = end;
      return item;
    }

    function markUnsaved(message) {
      let note = form.querySelector("[data-unsaved]");
      if (!note) {
        note = document.createElement("p");
        note.dataset.unsaved = "";
        note.className = "cp-tag cp-tag--warn";
        note.setAttribute("role", "status");
        form.querySelector(".cp-week__save").append(note);
      }
      note.textContent = `${message} Not saved yet.`;
    }

    form.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button || !form.contains(button)) return;
      if (button.dataset.preset !== undefined) {
        event.preventDefault();
        const windows = presets[button.dataset.preset] || [];
        const target = button.dataset.target;
        const weekdays = target === "weekdays" ? WORKING_WEEK : [Number(target)];
        weekdays.forEach((weekday) => {
          const row = dayRow(weekday);
          row.querySelector("[data-windows]").replaceChildren();
          windows.forEach(([start, end]) => addWindow(row, start, end));
          row.classList.remove("cp-week__day--error");
          refresh(row);
        });
        const where = target === "weekdays" ? "Monday to Friday" : dayRow(target).dataset.dayLabel;
        markUnsaved(`${button.textContent.trim().split(" on ")[0]} filled in for ${where}.`);
      } else if (button.hasAttribute("data-add-window")) {
        event.preventDefault();
        const row = button.closest("tr[data-day]");
        const item = addWindow(row);
        refresh(row);
        item.querySelector("input").focus();
        markUnsaved(`A window row was added to ${row.dataset.dayLabel}.`);
      } else if (button.hasAttribute("data-remove-window")) {
        event.preventDefault();
        const row = button.closest("tr[data-day]");
        const item = button.closest("[data-window]");
        const next = item.nextElementSibling || item.previousElementSibling;
        item.remove();
        refresh(row);
        (next ? next.querySelector("input") : row.querySelector("[data-add-window]")).focus();
        markUnsaved(`A window was removed from ${row.dataset.dayLabel}.`);
      }
    });

    form.addEventListener("input", () => markUnsaved("You changed the week."));
  }

  function setUpPreview(form) {
    const select = form.querySelector("select[data-autosubmit]");
    const fallback = form.querySelector("[data-autosubmit-fallback]");
    if (!select) return;
    if (fallback) fallback.hidden = true;
    select.addEventListener("change", () => form.submit());
  }

  function init() {
    document.querySelectorAll("form[data-week-form]").forEach(setUp);
    document.querySelectorAll("form[data-preview-form]").forEach(setUpPreview);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
