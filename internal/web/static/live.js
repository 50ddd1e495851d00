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
    if (window.ticksFillRows) { window.ticksFillRows(root, data); }
    // data-live-html="html.chart": the server's own rendering of a part
    // (escaped by its templates), swapped in whole.
    root.querySelectorAll("[data-live-html]").forEach(function (el) {
      var v = pick(data, el.getAttribute("data-live-html"));
      if (typeof v === "string" && el.innerHTML !== v) { el.innerHTML = v; }
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

// Lists: an element with data-live-rows="tickets" shows the snapshot's
// array of that name, a row per item, made from the <template> whose id
// data-live-template names. Rows are matched by their data-key (the item's
// "key"), so a row that stays is updated in place, not redrawn. Inside a
// row, data-row-field="label" sets the text and data-row-attr="href=url,
// data-status=status" sets attributes (on the row itself too).
(function () {
  "use strict";
  function setRow(row, item) {
    [row].concat(Array.prototype.slice.call(row.querySelectorAll("[data-row-field], [data-row-attr]"))).forEach(function (el) {
      var f = el.getAttribute("data-row-field");
      if (f && item[f] !== undefined) { el.textContent = String(item[f]); }
      var attrs = el.getAttribute("data-row-attr");
      if (!attrs) { return; }
      attrs.split(",").forEach(function (pair) {
        var kv = pair.split("=");
        if (kv.length === 2 && item[kv[1]] !== undefined) { el.setAttribute(kv[0].trim(), String(item[kv[1]])); }
      });
    });
    if (item.key !== undefined) { row.setAttribute("data-key", String(item.key)); }
    if (item.status !== undefined) { row.setAttribute("data-status", String(item.status)); }
    if (item.state !== undefined) { row.setAttribute("data-state", String(item.state)); }
  }
  function fillRows(root, data) {
    root.querySelectorAll("[data-live-rows]").forEach(function (list) {
      var items = data[list.getAttribute("data-live-rows")];
      var tpl = document.getElementById(list.getAttribute("data-live-template"));
      if (!Array.isArray(items) || !tpl) { return; }
      var byKey = {};
      Array.prototype.forEach.call(list.children, function (row) { byKey[row.getAttribute("data-key")] = row; });
      var keep = {};
      items.forEach(function (item) {
        var key = String(item.key);
        var row = byKey[key];
        if (!row) { row = tpl.content.firstElementChild.cloneNode(true); }
        setRow(row, item);
        keep[key] = true;
        list.appendChild(row); // in the snapshot's order
      });
      Object.keys(byKey).forEach(function (key) { if (!keep[key]) { byKey[key].remove(); } });
    });
  }
  window.ticksFillRows = fillRows;
})();
