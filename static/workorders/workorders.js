// Work-order pages (整改工单):
//   Ctrl+Enter in a form marked data-ctrl-enter submits it (feedback, close, return, appeal);
//   evidence files are checked against the server's limits before a slow upload is sent
//   (the server checks again; the messages come translated in the input's data-msg-*).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.key !== "Enter") return;
    const form = event.target.closest && event.target.closest("form[data-ctrl-enter]");
    if (form) { event.preventDefault(); form.requestSubmit(); }
  });

  function problem(input) {
    const d = input.dataset;
    const files = Array.from(input.files || []);
    if (files.length > Number(d.maxFiles)) return d.msgFiles;
    const big = files.find(function (f) { return f.size > Number(d.maxBytes); });
    if (big) return d.msgSize.replace("{name}", big.name);
    const total = files.reduce(function (sum, f) { return sum + f.size; }, 0);
    if (total > Number(d.maxTotal)) return d.msgTotal;
    return "";
  }

  document.querySelectorAll('input[type="file"][data-max-bytes]').forEach(function (input) {
    const form = input.form;
    const warning = form.querySelector("[data-upload-warning]");
    function check() {
      const message = problem(input);
      if (warning) { warning.textContent = message; warning.hidden = !message; }
      return message;
    }
    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) { if (check()) event.preventDefault(); });
  });
})();
