// Perisai console: the roster upload (drag and drop, upload progress) and batch progress.
"use strict";
(function () {
  var POLL_MS = 700, POLL_LIMIT = 2000;

  function $(id) { return document.getElementById(id); }

  function poll(url, done) {
    var bar = $("batch-progress"), text = $("batch-text"), count = 0;
    function tick() {
      if (++count > POLL_LIMIT) { return; }
      var xhr = new XMLHttpRequest();
      xhr.open("GET", url);
      xhr.onload = function () {
        if (xhr.status !== 200) { return; }
        var batch = JSON.parse(xhr.responseText);
        bar.max = Math.max(batch.total_rows, 1);
        bar.value = batch.processed_rows;
        text.textContent = batch.processed_rows + " / " + batch.total_rows;
        if (batch.status === "completed" || batch.status === "failed") { done(); }
        else { setTimeout(tick, POLL_MS); }
      };
      xhr.send();
    }
    tick();
  }

  function upload(form) {
    var input = $("file"), zone = $("dropzone"), button = $("upload-button");
    var message = $("upload-message"), chosen = null;
    function choose(file) {
      chosen = file || null;
      $("file-name").textContent = chosen ? chosen.name : "";
      button.disabled = !chosen;
    }
    function fail(text) { message.textContent = text; message.classList.remove("hidden"); button.disabled = false; }
    input.addEventListener("change", function () { choose(input.files[0]); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer.files.length) { choose(event.dataTransfer.files[0]); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!chosen) { return; }
      button.disabled = true;
      message.classList.add("hidden");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.url);
      xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
      xhr.setRequestHeader("Content-Type", chosen.type || "application/octet-stream");
      xhr.setRequestHeader("Idempotency-Key", "console-" + Date.now() + "-" + Math.random().toString(36).slice(2));
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) {
          $("upload-progress").value = Math.round(100 * e.loaded / e.total);
          $("upload-text").textContent = $("upload-progress").value + "%";
        }
      };
      xhr.onload = function () {
        var body = {};
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
        if (xhr.status !== 201 && xhr.status !== 202) {
          fail((body.detail || "Unggahan gagal") + (body.code ? " (kode: " + body.code + ")" : ""));
          return;
        }
        $("upload-progress").value = 100;
        $("upload-text").textContent = "100%";
        poll("/console/unggahan/" + body.id + "/status", function () { window.location = body.page; });
      };
      xhr.onerror = function () { fail("Koneksi terputus; coba unggah lagi."); };
      xhr.send(chosen);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = $("upload-form");
    if (form) { upload(form); }
    var running = $("batch-poll");
    if (running) { poll(running.dataset.url, function () { window.location.reload(); }); }
  });
})();
