/* Staff dashboard: live waiting times and a self-refreshing queue. */
(function () {
  "use strict";

  function minutesSince(iso) {
    var since = Date.parse(iso);
    if (isNaN(since)) {
      return null;
    }
    return Math.max(0, Math.floor((Date.now() - since) / 60000));
  }

  function tickWaiting(root) {
    (root || document).querySelectorAll("[data-waiting-since]").forEach(function (el) {
      var minutes = minutesSince(el.getAttribute("data-waiting-since"));
      if (minutes === null) {
        return;
      }
      el.textContent = minutes + " min";
      var longAfter = parseInt(el.getAttribute("data-long-after") || "0", 10);
      if (longAfter) {
        el.classList.toggle("cp-waiting--long", minutes >= longAfter);
      }
    });
  }

  function refreshQueue(container) {
    var url = container.getAttribute("data-refresh-url");
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (html) {
        container.innerHTML = html;
        tickWaiting(container);
      })
      .catch(function () {
        /* keep what is shown; the next round tries again */
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tickWaiting(document);
    window.setInterval(function () {
      tickWaiting(document);
    }, 15000);
    var queue = document.getElementById("cp-queue");
    if (queue) {
      var seconds = parseInt(queue.getAttribute("data-refresh-seconds") || "30", 10);
      window.setInterval(function () {
        refreshQueue(queue);
      }, seconds * 1000);
    }
  });
})();
