// Tips written without a connection. When the phone is offline, sending the tip form keeps the
// text and the files in this browser's IndexedDB and says so; when the connection returns (the
// `online` event, or the next time the tip page opens) each kept tip is sent: a fresh ALTCHA
// challenge is solved here, the tip goes to the API and the receipt is shown; its files move to
// the uploads store and are sent from there with tus (tip-uploads.js), kept until the server
// has all of each. The receipt is shown in the page's own receipt box (tip-receipt.js: copy,
// save, print, a warning before leaving) and stays in IndexedDB only until the person has kept
// it that way or ticked that they have.
// Also registers the service worker that keeps the tip page and its files for offline use.
import { pbkdf2, sha, solveChallenge } from "altcha/lib";
import { tipFields } from "./tip-fields.js";
import { guardReceipt, receiptCard } from "./tip-receipt.js";
import { OUTBOX, allIn, deleteIn, putIn } from "./tip-store.js";
import { tipUploads } from "./tip-uploads.js";

const RETRY_FLUSH_MS = 60 * 1000;

// Set in this bundle so the page says something even before its words arrive; replaced by the
// words in the page's language from STRINGS_URL (which the service worker keeps for offline).
const WORKER_URL = "/tips/sw.js";
const SCOPE = "/tips/";
const STRINGS_URL = "/tips/offline-strings.json";
const T = {
  saved:
    "Saved on this phone. It will be sent when you are back online — keep this page open or come back to it.",
  savedAfterFailure:
    "The server could not be reached, so your tip is saved on this phone. It will be sent by itself when the connection works — keep this page open or come back to it.",
  sending: "You are back online. Sending the tip you saved…",
  sent: "Your saved tip was sent.",
  failed: "Your saved tip could not be sent yet (%(reason)s). It stays on this phone; we will try again.",
  refused:
    "Your saved tip was not accepted: %(reason)s It is back in the form: correct it and send it again.",
};

async function loadStrings() {
  try {
    const response = await fetch(STRINGS_URL, { credentials: "same-origin" });
    if (response.ok) Object.assign(T, await response.json());
  } catch {
    // Offline and not kept yet: the words above will do.
  }
}

function fmt(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

// --- IndexedDB (tip-store.js) ------------------------------------------------------------------

const allKept = () => allIn(OUTBOX);
const keep = (record) => putIn(OUTBOX, record);
const forget = (id) => deleteIn(OUTBOX, id);

// --- what the person wrote and picked ----------------------------------------------------------

// The Dashboard's own file input is emptied as soon as Uppy reads it, so we note each file as it
// is picked or dropped (capture phase: before Uppy sees the event), and drop removed ones.
const picked = new Map();

function notePicked(files) {
  for (const file of files || []) picked.set(`${file.name}:${file.size}:${file.lastModified}`, file);
}

function currentFiles(form) {
  const uppy = form.canvassUppy;
  if (uppy && typeof uppy.getFiles === "function") return uppy.getFiles().map((f) => f.data);
  const shown = new Set(
    [...form.querySelectorAll(".uppy-Dashboard-Item-name")].map((el) => el.textContent.trim()),
  );
  const files = [...picked.values()];
  return shown.size ? files.filter((file) => shown.has(file.name)) : files;
}

// --- telling the person --------------------------------------------------------------------------

function statusBox() {
  return document.getElementById("tip-offline-status");
}

function say(text) {
  const box = statusBox();
  if (!box) return;
  box.replaceChildren();
  const p = document.createElement("p");
  p.className = "notice";
  p.textContent = text;
  box.append(p);
}

// Each receipt in a copy of the page's receipt box, after the status line; one per kept tip,
// shown once however often the queue is looked at.
function receiptsBox() {
  let box = document.getElementById("tip-offline-receipts");
  if (!box) {
    box = document.createElement("div");
    box.id = "tip-offline-receipts";
    statusBox()?.after(box);
  }
  return box;
}

function showReceipt(record) {
  if (!statusBox()) return;
  say(T.sent);
  const box = receiptsBox();
  const shown = [...box.querySelectorAll("[data-role=offline-receipt]")];
  if (shown.some((el) => el.dataset.record === String(record.id))) return;
  const card = receiptCard({ receipt: record.receipt, reference: record.tip });
  if (!card) return;
  card.dataset.role = "offline-receipt";
  card.dataset.record = String(record.id);
  box.append(card);
  // Copied, saved, printed or ticked: the phone need not keep it any longer.
  guardReceipt(card, { onKept: () => forget(record.id) });
  card.scrollIntoView({ block: "start" });
}

// --- sending a kept tip ------------------------------------------------------------------------

function deriveKeyFor(algorithm) {
  return /^PBKDF2/i.test(algorithm) ? pbkdf2.deriveKey : sha.deriveKey;
}

async function proofOfWork(challengeUrl) {
  const response = await fetch(challengeUrl, {
    credentials: "omit",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  const challenge = await response.json();
  const solution = await solveChallenge({
    challenge,
    deriveKey: deriveKeyFor(challenge.parameters.algorithm),
  });
  if (!solution) throw new Error("proof-of-work not solved");
  const payload = { challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution };
  return btoa(JSON.stringify(payload));
}

async function serverMessage(response) {
  const text = (await response.text()).trim();
  try {
    return JSON.parse(text).detail || text;
  } catch {
    return text || `${response.status} ${response.statusText}`;
  }
}

// Answers that refuse the tip itself (not the moment): bad fields, unknown agency, too large.
const REFUSED = new Set([400, 404, 413]);

function restore(form, record) {
  const fields = record.fields || {};
  for (const name of ["category", "description", "occurred_at", "address", "contact"]) {
    const input = form.elements.namedItem(name);
    if (input && fields[name] != null) input.value = fields[name];
  }
  for (const name of ["latitude", "longitude"]) {
    const input = form.elements.namedItem(name);
    if (input) input.value = fields[name] == null ? "" : String(fields[name]);
  }
  const share = fields.share_file_metadata ? "yes" : "no";
  form.querySelectorAll("[name=share_file_metadata]").forEach((input) => {
    input.checked = input.value === share;
  });
  const uppy = form.canvassUppy;
  for (const file of record.files || []) {
    try {
      uppy?.addFile({ name: file.name || "file", type: file.type, data: file, source: "offline" });
    } catch {
      // A file Uppy refuses now (a limit) is left out; the person can pick it again.
    }
  }
}

let flushing = false;

async function flush(form) {
  if (flushing || !navigator.onLine) return;
  flushing = true;
  await stringsReady;
  try {
    for (const record of await allKept()) {
      if (!record.receipt) {
        say(T.sending);
        try {
          const altcha = await proofOfWork(form.dataset.challenge);
          const response = await fetch(form.dataset.api, {
            method: "POST",
            credentials: "omit",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ ...record.fields, altcha }),
          });
          if (!response.ok) {
            const refused = new Error(await serverMessage(response));
            refused.status = response.status;
            throw refused;
          }
          const created = await response.json();
          Object.assign(record, { receipt: created.receipt, tip: created.tip, upload: created.upload });
          // From here on only the receipt matters: the text is with the agency now.
          record.fields = null;
          await keep(record);
        } catch (error) {
          const reason = error.message || String(error);
          // The tip itself was refused (a category gone, a field wrong): trying again would
          // fail the same way. Put it back in the form, so nothing is lost, and say why; one
          // at a time, and never over a tip the person is writing now.
          if (REFUSED.has(error.status) && !form.elements.namedItem("description")?.value) {
            restore(form, record);
            await forget(record.id);
            say(fmt(T.refused, { reason }));
            form.scrollIntoView({ block: "start" });
            return;
          }
          say(fmt(T.failed, { reason }));
          // A lost signal, a busy server or a rate limit passes: try again in a while.
          setTimeout(() => flush(form), RETRY_FLUSH_MS);
          return;
        }
      }
      // The files move to the uploads store (in one transaction with this record losing them)
      // and are sent from there; this record keeps nothing but the receipt until it is noted.
      const files = (record.files || []).slice(record.filesSent || 0);
      if (files.length) {
        await tipUploads().enqueue(files, record.upload, record);
        record.files = [];
      }
      showReceipt(record);
    }
  } finally {
    flushing = false;
  }
}

// --- wiring ------------------------------------------------------------------------------------

async function keepForLater(form, message) {
  await keep({ createdAt: new Date().toISOString(), fields: tipFields(form), files: currentFiles(form) });
  form.reset();
  form.canvassUppy?.cancelAll?.();
  await stringsReady;
  say(message);
  statusBox()?.scrollIntoView({ block: "center" });
}

function start(form) {
  // The tip page's own script calls this when the phone says it is online but the tip's POST
  // never reached the server (a network error, not a refusal): the tip waits here instead.
  form.canvassKeepForLater = async () => {
    await keepForLater(form, T.savedAfterFailure);
    setTimeout(() => flush(form), RETRY_FLUSH_MS);
  };
  document.addEventListener(
    "change",
    (event) => {
      if (event.target instanceof HTMLInputElement && event.target.type === "file" && form.contains(event.target)) {
        notePicked(event.target.files);
      }
    },
    true,
  );
  document.addEventListener(
    "drop",
    (event) => {
      if (form.contains(event.target)) notePicked(event.dataTransfer?.files);
    },
    true,
  );
  // Capture phase on the document runs before the page's own submit handler on the form.
  document.addEventListener(
    "submit",
    async (event) => {
      if (event.target !== form || navigator.onLine) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      await keepForLater(form, T.saved);
    },
    true,
  );
  window.addEventListener("online", () => flush(form));
  // The next visit: say what waits, or send it now (and show any receipt not yet noted).
  Promise.all([allKept(), stringsReady]).then(([kept]) => {
    if (!kept.length) return;
    if (navigator.onLine) flush(form);
    else if (kept.some((record) => !record.receipt)) say(T.saved);
  });
}

function registerWorker() {
  if (!document.querySelector("link[rel=manifest]")) {
    const manifest = document.createElement("link");
    manifest.rel = "manifest";
    manifest.href = `${SCOPE}manifest.webmanifest`;
    document.head.append(manifest);
  }
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker
    .register(WORKER_URL, { scope: SCOPE })
    .then(() => navigator.serviceWorker.ready)
    // The page open now is the shell to show when a later visit finds no signal.
    .then((registration) => registration.active?.postMessage({ keep: window.location.href }))
    .catch(() => {});
}

const stringsReady = loadStrings();
const tipForm = document.getElementById("tip-form");
if (tipForm && window.indexedDB) start(tipForm);
registerWorker();
