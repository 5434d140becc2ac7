// Callback workbench (回访工作台) keyboard shortcuts: an evaluator makes 100+ calls a day.
//   N           take the next task (queue page)
//   1–4         choose the call outcome (record form)
//   M           reveal the number (via accesskey as well)
//   Ctrl+Enter  save and take the next task
(function () {
  "use strict";
  function typing(el) {
    return el && (el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
      (el.tagName === "INPUT" && !["radio", "checkbox"].includes(el.type)));
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey && event.key === "Enter") {
      const next = document.querySelector('[data-testid="save-next"]');
      if (next) { event.preventDefault(); next.click(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    const key = event.key.toLowerCase();
    if (key === "n") {
      const take = document.querySelector('[data-testid="take-next"]');
      if (take) { event.preventDefault(); take.click(); }
    } else if (key === "m") {
      const reveal = document.querySelector('[data-testid="reveal"]');
      if (reveal) { event.preventDefault(); reveal.click(); }
    } else if ("1234".includes(key)) {
      const radios = document.querySelectorAll('#record-form input[name="outcome"]');
      const radio = radios[Number(key) - 1];
      if (radio) { event.preventDefault(); radio.checked = true; radio.focus(); }
    }
  });
})();
