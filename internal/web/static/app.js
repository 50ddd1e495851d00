// ticks: the little the pages need: submit the language switch, confirm
// deletions, and show progress while an export is prepared.
(function () {
  "use strict";
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
  document.querySelectorAll("[data-back]").forEach(function (el) {
    el.value = location.pathname + location.search;
  });
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.querySelector("button").textContent + "?")) { e.preventDefault(); }
    });
  });
  // An export is a download: the server sets the cookie named by the
  // token once the file starts, which is when the progress note goes away.
  var progress = document.getElementById("export-progress");
  document.querySelectorAll("a[data-export]").forEach(function (a) {
    a.addEventListener("click", function () {
      var token = String(Date.now()) + Math.floor(Math.random() * 1e6);
      var url = new URL(a.href, location.href);
      url.searchParams.set("download_token", token);
      a.href = url.toString();
      if (!progress) { return; }
      progress.hidden = false;
      var tries = 0;
      var timer = setInterval(function () {
        tries++;
        if (document.cookie.indexOf("ticks_download=" + token) >= 0 || tries > 600) {
          progress.hidden = true;
          clearInterval(timer);
        }
      }, 200);
    });
  });
})();
