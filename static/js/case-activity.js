// The case page shows its latest activity lines; "Show all N" fetches the whole activity (JSON,
// audited as a view of the case) and puts it in place of them, newest first, built from text
// nodes as the page renders a line (templates/evidence/cases/case_detail.html), by case-custody.js's
// custodyLine: that script comes first on the page and both are deferred, so it has run.
async function showAllActivity(button) {
  const list = document.getElementById("activity-lines");
  button.disabled = true;
  button.textContent = "Loading…";
  try {
    const response = await fetch(button.dataset.url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const activity = await response.json();
    list.replaceChildren(...activity.lines.map(custodyLine));
    button.closest("p").remove();
  } catch {
    button.disabled = false;
    button.textContent = "Could not load the activity; try again";
  }
}

const activityAll = document.getElementById("activity-all");
if (activityAll) activityAll.addEventListener("click", () => showAllActivity(activityAll));
