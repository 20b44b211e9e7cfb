// The header's navigation folds into a "Menu" button on a phone (below 640 px, see
// canvass.css). Without JavaScript the links simply wrap under the brand.
(() => {
  const header = document.querySelector("header.top");
  const button = header && header.querySelector(".menu-toggle");
  const nav = header && header.querySelector("nav");
  if (!button || !nav) return;
  const setOpen = (open) => {
    header.classList.toggle("menu-open", open);
    button.setAttribute("aria-expanded", String(open));
  };
  button.hidden = false;
  header.classList.add("menu-ready");
  button.addEventListener("click", () => setOpen(!header.classList.contains("menu-open")));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("menu-open")) {
      setOpen(false);
      button.focus();
    }
  });
})();
