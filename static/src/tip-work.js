// The staff tip page's "work this tip" panel: a question template fills the reply box, and the
// case number field suggests the cases the user may see as they type. Text goes in as text
// (option values and textarea values), never as HTML.

const SUGGEST_DELAY_MS = 200;

function startTemplates() {
  const pick = document.querySelector("[data-role=template-pick]");
  const data = document.getElementById("question-templates");
  if (!pick || !data) return;
  const templates = new Map(JSON.parse(data.textContent).map((t) => [String(t.id), t.body]));
  pick.closest(".js-only").hidden = false;
  const box = document.querySelector("#question-form textarea[name=body]");
  pick.addEventListener("change", () => {
    if (!templates.has(pick.value)) return;
    box.value = templates.get(pick.value);
    box.focus();
  });
}

function startCaseSuggest() {
  const form = document.querySelector("form[data-case-suggest]");
  const input = form?.querySelector("input[name=case_number]");
  const list = document.getElementById("case-suggestions");
  if (!input || !list) return;
  let timer = null;
  let asked = "";
  async function suggest() {
    const query = input.value.trim();
    if (!query || query === asked) return;
    asked = query;
    const response = await fetch(`${form.dataset.caseSuggest}?${new URLSearchParams({ q: query })}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok || input.value.trim() !== query) return;
    const { results } = await response.json();
    list.replaceChildren(
      ...results.map((found) => {
        const option = document.createElement("option");
        option.value = found.number;
        option.label = found.title;
        option.textContent = found.title;
        return option;
      }),
    );
    form.dataset.suggested = query;
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(suggest, SUGGEST_DELAY_MS);
  });
}

startTemplates();
startCaseSuggest();
