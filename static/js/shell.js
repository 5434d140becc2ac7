// The console shell: on a narrow screen the menu folds behind a button. Loaded with `defer`,
// so the page is parsed when this runs: the button works as soon as possible.
(() => {
  const button = document.querySelector(".menu-toggle");
  const sidebar = document.getElementById("sidebar");
  if (!button || !sidebar) return;
  const set = (open) => {
    document.body.classList.toggle("nav-open", open);
    button.setAttribute("aria-expanded", String(open));
  };
  button.addEventListener("click", () => set(!document.body.classList.contains("nav-open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") set(false);
  });
  // A tap outside the open menu closes it.
  document.addEventListener("click", (event) => {
    if (!document.body.classList.contains("nav-open")) return;
    if (sidebar.contains(event.target) || button.contains(event.target)) return;
    set(false);
  });
})();
