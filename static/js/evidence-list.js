// The evidence list's bulk action: "select all on this page" and a count of what is selected.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("bulk-add");
  if (!form) return;
  const boxes = () => Array.from(document.querySelectorAll('input[name=item][form="bulk-add"]'));
  const all = document.getElementById("select-all");
  const count = form.querySelector("[data-bulk-count]");
  function update() {
    const n = boxes().filter((box) => box.checked).length;
    count.textContent = n ? `${n} selected` : "Select items with the boxes in the table.";
    if (all) all.checked = n > 0 && n === boxes().length;
  }
  if (all) {
    all.addEventListener("change", () => {
      boxes().forEach((box) => {
        box.checked = all.checked;
      });
      update();
    });
  }
  boxes().forEach((box) => box.addEventListener("change", update));
  update();
});
