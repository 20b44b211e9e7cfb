// The case page's timeline shows each item's latest custody lines; "Show all N" fetches the
// item's whole custody (JSON, audited as a read of it) and puts it in place of them, built
// from text nodes as the page renders a line (templates/evidence/cases/case_detail.html).
function custodyLine(line) {
  const li = document.createElement("li");
  li.append(line.text);
  if (line.refused) {
    const refused = document.createElement("strong");
    refused.textContent = "(refused)";
    li.append(" ", refused);
  }
  const when = document.createElement("span");
  when.className = "muted";
  when.textContent = `· ${line.at}`;
  li.append(" ", when);
  return li;
}

// Fetches a "Show all" button's lines (JSON); on failure the button comes back with a message
// and null is returned. Also used by case-activity.js.
async function fetchLines(button, what) {
  button.disabled = true;
  button.textContent = "Loading…";
  try {
    const response = await fetch(button.dataset.url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.json();
  } catch {
    button.disabled = false;
    button.textContent = `Could not load the ${what}; try again`;
    return null;
  }
}

async function showAll(button) {
  const details = button.closest("details");
  const custody = await fetchLines(button, "custody");
  if (!custody) return;
  details.querySelector(".custody-lines").replaceChildren(...custody.lines.map(custodyLine));
  const shown = details.querySelector(".custody-shown");
  if (shown) shown.textContent = `All ${custody.total}:`;
  const separator = button.nextSibling;
  if (separator && separator.nodeType === Node.TEXT_NODE) separator.remove();
  button.remove();
}

for (const button of document.querySelectorAll("#timeline .custody-all")) {
  button.addEventListener("click", () => showAll(button));
}
