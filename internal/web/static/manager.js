// ticks: the report manager's list follows its extractions while any is
// queued or running: progress bars and row counts move, and when one is
// done the page reloads to say so and offer the download.
(function () {
  "use strict";
  var table = document.getElementById("extractions");
  if (!table) { return; }
  function pending() {
    return table.querySelectorAll('tr[data-status="queued"], tr[data-status="running"]').length > 0;
  }
  function poll() {
    if (!pending()) { return; }
    fetch(table.dataset.poll, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) { return; }
        var done = null;
        body.rows.forEach(function (x) {
          var tr = document.getElementById("extraction-" + x.id);
          if (!tr) { return; }
          var was = tr.dataset.status;
          if ((was === "queued" || was === "running") && x.status !== "queued" && x.status !== "running") {
            done = x.id;
          }
          tr.dataset.status = x.status;
          tr.querySelector("[data-label]").textContent = x.label;
          tr.querySelector("[data-rows]").textContent = x.rows;
          var bar = tr.querySelector("progress");
          if (x.status === "running") {
            if (!bar) {
              bar = document.createElement("progress");
              bar.max = 100;
              tr.querySelector("td.status").append(" ", bar);
            }
            bar.value = x.percent;
            bar.textContent = x.percent + "%";
          }
        });
        if (done) {
          location.assign("/reports/manager?done=" + encodeURIComponent(done));
        }
      })
      .catch(function () {})
      .finally(function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
