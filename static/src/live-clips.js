// The viewer page's clip panel (#live-clips): "Save the last N seconds" and "Save from … to …"
// are sent with fetch so the live video keeps playing, and the list of clips shows each one
// queued, then saved (with a link to its evidence item) or refused (with the clip maker's
// reason), or late and then failed if the clip maker never reports, polled every 2 s while any
// is queued or late. Without JavaScript the form posts and the page reloads. Text only ever
// goes in as text nodes; the page's CSP allows no inline script.
const panel = document.getElementById("live-clips");
const form = document.getElementById("clip-form");
const list = document.getElementById("clip-list");
const errorBox = document.getElementById("clip-error");

let polling = null;
// The page's own words (translated by the server), with English if a data- attribute is missing.
const words = {
  into: (list && list.dataset.into) || "into",
  open: (list && list.dataset.open) || "Open the evidence item",
  notQueued: (panel && panel.dataset.notQueued) || "The clip was not queued.",
  netFailed:
    (panel && panel.dataset.netFailed) ||
    "The clip was not queued: the connection failed. Try again.",
};

function showError(messages) {
  if (!errorBox) return;
  errorBox.textContent = messages.join(" ");
  errorBox.hidden = messages.length === 0;
}

function row(clip) {
  const li = document.createElement("li");
  li.dataset.clip = clip.clip;
  li.dataset.state = clip.state;
  const asked = document.createElement("span");
  asked.className = "clip-asked";
  asked.textContent = clip.asked;
  const kase = document.createElement("span");
  kase.className = "clip-case";
  kase.textContent = clip.case;
  const state = document.createElement("strong");
  state.className = "clip-state";
  state.textContent = clip.label || clip.state;
  const message = document.createElement("span");
  message.className = "clip-message";
  message.textContent = clip.message;
  li.append(asked, document.createTextNode(` ${words.into} `), kase, document.createTextNode(": "));
  li.append(state, document.createTextNode(" "), message);
  if (clip.item_url) {
    const link = document.createElement("a");
    link.className = "clip-item";
    link.href = clip.item_url;
    link.textContent = words.open;
    li.append(document.createTextNode(" "), link);
  }
  return li;
}

function render(clips) {
  list.replaceChildren(...clips.map(row));
  // A late clip is queued again by the server's retry, or given up as failed: keep asking.
  const waiting = clips.some((c) => c.state === "queued" || c.state === "late");
  if (waiting && !polling) polling = setInterval(refresh, 2000);
  if (!waiting && polling) {
    clearInterval(polling);
    polling = null;
  }
}

async function refresh() {
  try {
    const response = await fetch(panel.dataset.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (response.ok) render((await response.json()).clips);
  } catch (error) {
    // The network blinked; the next poll tries again.
  }
}

async function submit(event) {
  event.preventDefault();
  const body = new FormData(form, event.submitter || undefined);
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => (b.disabled = true));
  try {
    const response = await fetch(panel.dataset.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body,
    });
    const answer = await response.json().catch(() => ({ errors: [words.notQueued] }));
    if (response.ok) {
      showError([]);
      render(answer.clips);
    } else {
      showError(answer.errors || [words.notQueued]);
    }
  } catch (error) {
    showError([words.netFailed]);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

if (panel && list) {
  if (form) form.addEventListener("submit", submit);
  if (list.querySelector("[data-state=queued], [data-state=late]")) {
    polling = setInterval(refresh, 2000);
  }
}
