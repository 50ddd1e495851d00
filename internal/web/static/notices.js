// ticks: the report manager's notices. On every page, the extractions the
// visitor asked for that are done (ready or failed) and not yet seen show
// as a notice with a link to the file; downloading it or dismissing the
// notice sees it. The list is read at load and every 15 seconds.
// data-notices may name several lists, separated by spaces (an admin's
// also has the budget alerts, /consumption/notices); a notice that names
// its own "seen" URL is dismissed there.
(function () {
  "use strict";
  var box = document.getElementById("notices");
  if (!box || !window.fetch) { return; }
  function seen(n, el) {
    var body = new URLSearchParams();
    body.set("csrf", box.dataset.csrf);
    fetch(n.seen || "/reports/manager/" + encodeURIComponent(n.id) + "/seen", {
      method: "POST", credentials: "same-origin", body: body, headers: { "Accept": "application/json" }
    }).then(function (r) { if (r.ok) { el.remove(); } });
  }
  function show(source, list) {
    var keep = {};
    list.forEach(function (n) {
      keep[n.id] = true;
      if (box.querySelector('[data-id="' + n.id + '"]')) { return; }
      var el = document.createElement("div");
      el.className = "notice";
      el.setAttribute("role", "status");
      el.dataset.id = n.id;
      el.dataset.source = source;
      el.dataset.status = n.status;
      var text = document.createElement("span");
      text.textContent = n.text;
      el.appendChild(text);
      if (n.href) {
        var a = document.createElement("a");
        a.href = n.href;
        a.textContent = n.download;
        a.className = "notice-link";
        if (n.status === "ready") { a.addEventListener("click", function () { setTimeout(function () { el.remove(); }, 0); }); }
        el.appendChild(a);
      }
      var b = document.createElement("button");
      b.type = "button";
      b.className = "link notice-dismiss";
      b.textContent = n.dismiss;
      b.addEventListener("click", function () { seen(n, el); });
      el.appendChild(b);
      box.appendChild(el);
    });
    Array.prototype.slice.call(box.children).forEach(function (el) {
      if (el.dataset.source === source && !keep[el.dataset.id]) { el.remove(); }
    });
  }
  function poll() {
    box.dataset.notices.split(/\s+/).forEach(function (source) {
      if (!source) { return; }
      fetch(source, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body) { show(source, body.notices); } })
        .catch(function () {});
    });
  }
  poll();
  setInterval(poll, 15000);
})();
