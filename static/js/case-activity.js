// The case page shows its latest activity lines; "Show all N" fetches the whole activity (JSON,
// audited as a view of the case) and puts it in place of them, newest first, built from text
// nodes as the page renders a line (templates/evidence/cases/case_detail.html), by case-custody.js's
// custodyLine and fetchLines: that script comes first on the page and both are deferred, so it has run.
async function showAllActivity(button) {
  const activity = await fetchLines(button, "activity");
  if (!activity) return;
  document.getElementById("activity-lines").replaceChildren(...activity.lines.map(custodyLine));
  button.closest("p").remove();
}

const activityAll = document.getElementById("activity-all");
if (activityAll) activityAll.addEventListener("click", () => showAllActivity(activityAll));
