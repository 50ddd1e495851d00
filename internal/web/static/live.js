// ticks live: an element with data-live="URL" follows that URL's event
// stream (internal/live); each snapshot, JSON, fills the elements inside it
// that name one of its fields: data-live-field="counters.sent" sets the
// text, data-live-width="funnel.read_pct" sets the width in percent, and
// data-live-hidden="running" hides the element when the field is false.
// Numbers are written in the page's language.
(function () {
  "use strict";
  var nf = new Intl.NumberFormat(document.documentElement.lang || "pt-BR");
  function pick(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }
  function fill(root, data) {
    root.querySelectorAll("[data-live-field]").forEach(function (el) {
      var v = pick(data, el.getAttribute("data-live-field"));
      if (v === undefined) { return; }
      el.textContent = typeof v === "number" ? nf.format(v) : String(v);
    });
    root.querySelectorAll("[data-live-width]").forEach(function (el) {
      var v = pick(data, el.getAttribute("data-live-width"));
      if (typeof v === "number") { el.style.width = Math.max(0, Math.min(100, v)) + "%"; }
    });
    root.querySelectorAll("[data-live-hidden]").forEach(function (el) {
      var v = pick(data, el.getAttribute("data-live-hidden"));
      if (v !== undefined) { el.hidden = !v; }
    });
    root.setAttribute("data-live-at", String(Date.now()));
  }
  document.querySelectorAll("[data-live]").forEach(function (root) {
    if (!window.EventSource) { return; }
    var es = new EventSource(root.getAttribute("data-live"));
    var name = root.getAttribute("data-live-event") || "snapshot";
    es.addEventListener(name, function (e) { fill(root, JSON.parse(e.data)); });
  });
})();
