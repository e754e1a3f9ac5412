/* The portal's little JavaScript: live rates in the dossier form, and uploads with progress. Every page works
   without it; it only makes them quicker to use. Every POST it sends carries the page's CSRF token. */
"use strict";

function percentText(online, total) {
  // "60,00 %" as the plan writes it; exact enough for display (the services compare exact fractions).
  const value = Math.round((online * 10000) / total) / 100;
  return value.toFixed(2).replace(".", ",") + " %";
}

function liveRates() {
  document.querySelectorAll("[data-rate]").forEach(function (cell) {
    const online = document.getElementById(cell.dataset.online);
    const total = document.getElementById(cell.dataset.total);
    const verdict = document.getElementById(cell.dataset.verdict);
    const threshold = Number(cell.dataset.threshold);
    function update() {
      const o = online.value.trim(), t = total.value.trim();
      if (!/^\d+$/.test(o) || !/^\d+$/.test(t) || Number(t) === 0) {
        cell.textContent = "—";
        verdict.textContent = "Chưa tính được";
        verdict.className = "";
        return;
      }
      cell.textContent = percentText(Number(o), Number(t));
      const met = Number(o) * 100 >= threshold * Number(t);
      verdict.textContent = met ? "Đạt chỉ tiêu" : "Chưa đạt chỉ tiêu";
      verdict.className = met ? "met" : "unmet";
    }
    online.addEventListener("input", update);
    total.addEventListener("input", update);
    update();
  });
}

function uploads() {
  const csrf = document.body.dataset.csrf;
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    const input = form.querySelector("input[type=file]");
    const bar = form.querySelector("progress");
    const message = form.querySelector("[data-message]");
    const limit = Number(form.dataset.maxBytes);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      message.textContent = "";
      input.removeAttribute("aria-invalid");
      const file = input.files[0];
      if (!file) { return fail("Vui lòng chọn tệp cần tải lên."); }
      if (file.size > limit) { return fail("Tệp lớn hơn mức cho phép (" + form.dataset.maxText + ")."); }
      const request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-CSRF-Token", csrf);
      request.setRequestHeader("Accept", "application/json");
      bar.hidden = false;
      bar.value = 0;
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { bar.value = Math.round((e.loaded * 100) / e.total); }
      });
      request.addEventListener("load", function () {
        if (request.status < 300) { window.location.assign(form.dataset.after); return; }
        let text = "Không tải lên được; vui lòng thử lại.";
        try { text = JSON.parse(request.responseText).message || text; } catch (ignored) { /* keep the default */ }
        fail(text);
      });
      request.addEventListener("error", function () { fail("Mất kết nối khi tải lên; vui lòng thử lại."); });
      const body = new FormData();
      body.append("file", file);
      request.send(body);
    });
    function fail(text) {
      bar.hidden = true;
      message.textContent = text;
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  });
}

function liveSections() {
  // A section marked data-refresh="N" (the council's tally) is fetched again every N seconds and replaced in
  // place; forms stay outside it, so nothing a member is typing or choosing is lost.
  document.querySelectorAll("[data-refresh]").forEach(function (section) {
    const seconds = Number(section.dataset.refresh);
    function refresh() {
      fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(section.id);
          if (fresh) { section.innerHTML = fresh.innerHTML; }
          if (fresh && fresh.dataset.refresh) { window.setTimeout(refresh, seconds * 1000); }
        })
        .catch(function () { window.setTimeout(refresh, seconds * 1000); });
    }
    window.setTimeout(refresh, seconds * 1000);
  });
}

document.addEventListener("DOMContentLoaded", function () {
  liveRates();
  uploads();
  liveSections();
});
