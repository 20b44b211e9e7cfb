// Tables on phones (static/css/canvass.css, below 640 px): each cell gets its column's name
// in data-label, so a row can show as a card of "label: value" lines; the columns that decide
// the next step (a header with data-lead, or one named like status, priority, due, overwrite)
// lead the card. Without JavaScript a table stays a table that scrolls sideways; so does a
// cross-tab, or a table inside [data-no-cards].
(() => {
  const LEADS = /status|state|priority|overwrit|due|deadline|answer by|estado|prioridad|vence|sobrescrit/i;
  for (const table of document.querySelectorAll("table")) {
    if (table.dataset.cards !== undefined || table.closest("[data-no-cards]")) continue;
    // A cross-tab (rows labelled by a header cell, e.g. months by category) stays a table.
    if (table.querySelector("tbody th")) continue;
    const headRow = table.tHead && table.tHead.rows[0];
    if (!headRow) continue;
    const columns = [];
    for (const th of headRow.cells) {
      const name = th.textContent.trim();
      const lead = th.hasAttribute("data-lead") || (!headRow.querySelector("[data-lead]") && LEADS.test(name));
      for (let i = 0; i < th.colSpan; i += 1) columns.push({ name, lead });
    }
    for (const body of table.tBodies) {
      for (const row of body.rows) {
        let index = 0;
        for (const cell of row.cells) {
          const column = cell.colSpan > 1 && row.cells.length === 1 ? null : columns[index];
          cell.dataset.label = column ? column.name : "";
          if (column && column.lead) cell.classList.add("card-lead");
          index += cell.colSpan;
        }
      }
    }
    table.dataset.cards = "";
  }
})();
