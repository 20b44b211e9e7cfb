// The staff upload page: Uppy's Dashboard to pick files, tus to send them in resumable pieces.
// Everything is bundled by `npm run build`; nothing is fetched from another site at run time
// (no Companion, no remote sources, no CDN locales).
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import Tus from "@uppy/tus";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";
import { uppyLocale } from "./uppy-locale.js";

const CHUNK_BYTES = 8 * 1024 * 1024;

// The page's words for what the widget says (templates/includes/upload_strings.html, in the
// page's language); English where a page gives none.
const ENGLISH = {
  msgSending: "Sending: {name}",
  msgProgress: "Upload progress of {name}",
  msgReceived: "Received: {name} — processing",
  msgFailed: "Not received: {name} — {reason}",
  msgNote: "Up to {files} files, {size} each.",
  msgUnavailable: "Uploading is not available: {reason}",
  msgServer: "The server answered {status}.",
};
const WORDS = { ...ENGLISH, ...(document.getElementById("upload-strings")?.dataset || {}) };

function say(key, values) {
  return WORDS[key].replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000];

function csrfToken(root) {
  // The CSRF cookie is HttpOnly, so the token comes from the {% csrf_token %} input.
  return root.querySelector("input[name=csrfmiddlewaretoken]").value;
}

async function requestGrant(root) {
  const response = await fetch(root.dataset.grantUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(root), Accept: "application/json" },
  });
  if (!response.ok) {
    throw new Error(await serverMessage(response));
  }
  return response.json();
}

// The grant API explains a refusal as JSON `{"detail": ...}`; anything else is shown as sent.
async function serverMessage(response) {
  const text = (await response.text()).trim();
  try {
    return JSON.parse(text).detail || text;
  } catch {
    return text || say("msgServer", { status: `${response.status} ${response.statusText}` });
  }
}

// What the browser calls a file it cannot name (a DVR's .dav export, say). Like the server,
// we let it through: it declares nothing, and the pipeline judges it by its content.
const UNDECLARED_TYPE = "application/octet-stream";

// The grant lists MIME prefixes ("video/") or wildcards ("video/*"); Uppy wants wildcards.
function allowedFileTypes(mediaTypes) {
  return [...mediaTypes.map((type) => (type.endsWith("/") ? `${type}*` : type)), UNDECLARED_TYPE];
}

function sizeLabel(bytes) {
  const gib = bytes / 1024 ** 3;
  return gib >= 1 ? `${+gib.toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

function showError(root, message) {
  const box = root.querySelector("[data-role=error]");
  box.textContent = message;
  box.hidden = false;
}

// One row per file: what happened to it in words, and a progress bar that stays when it is done.
function fileRow(root, file) {
  const list = root.querySelector("[data-role=files]");
  let row = list.querySelector(`[data-file-id="${CSS.escape(file.id)}"]`);
  if (!row) {
    row = document.createElement("li");
    row.dataset.fileId = file.id;
    const status = document.createElement("span");
    status.className = "status";
    status.textContent = say("msgSending", { name: file.name });
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", say("msgProgress", { name: file.name }));
    row.append(status, bar);
    list.append(row);
  }
  return row;
}

function showProgress(root, file, progress) {
  if (progress.bytesTotal) {
    const bar = fileRow(root, file).querySelector("progress");
    bar.value = Math.floor((100 * progress.bytesUploaded) / progress.bytesTotal);
  }
}

function showReceived(root, file) {
  const row = fileRow(root, file);
  row.className = "received";
  row.querySelector("progress").value = 100;
  row.querySelector(".status").textContent = say("msgReceived", { name: file.name });
  root.querySelector("[data-role=done]").hidden = false;
}

function showFailed(root, file, error, response) {
  const row = fileRow(root, file);
  row.className = "failed";
  // Our tus server explains a refusal in a plain-text body: show it as it is.
  const body = response?.body?.xhr?.responseText?.trim();
  const reason = body || error.message;
  row.querySelector(".status").textContent = say("msgFailed", { name: file.name, reason });
}

// Files not yet sent take the case chosen now; files already sent keep theirs.
function followChosenCase(root, uppy) {
  const picked = root.querySelector("input[data-case-id]");
  if (!picked) return;
  const apply = () => {
    uppy.setMeta({ case: picked.value });
  };
  root.addEventListener("case-chosen", apply);
  apply();
}

function startUppy(root, grant) {
  const uppy = new Uppy({
    locale: uppyLocale(),
    autoProceed: false,
    restrictions: {
      maxNumberOfFiles: grant.max_files,
      maxFileSize: grant.max_file_bytes,
      allowedFileTypes: allowedFileTypes(grant.media_types),
    },
  });
  uppy.use(Dashboard, {
    inline: true,
    target: root.querySelector("[data-role=dashboard]"),
    width: "100%",
    height: 420,
    theme: "light",
    proudlyDisplayPoweredByUppy: false,
    showRemoveButtonAfterComplete: false,
    note: say("msgNote", { files: grant.max_files, size: sizeLabel(grant.max_file_bytes) }),
  });
  uppy.use(Tus, {
    endpoint: root.dataset.endpoint,
    headers: { [grant.header]: grant.value },
    chunkSize: CHUNK_BYTES,
    retryDelays: RETRY_DELAYS_MS,
    // tus remembers each started upload, so a retry carries on from the last byte the
    // server holds. (After a reload the page holds a new grant, which cannot reach the old
    // upload: the server answers 404 and the file starts over.) It forgets a sent file, so
    // sending the same file again makes a new item rather than "resuming" the finished one.
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    // "case": the case chosen on the page (static/js/case-picker.js), which the server
    // checks when each upload begins and files the item into when it is received. Only where
    // the page has a case picker: otherwise tus would send the unset field as "undefined".
    allowedMetaFields: root.querySelector("input[data-case-id]")
      ? ["name", "type", "case"]
      : ["name", "type"],
  });
  followChosenCase(root, uppy);
  uppy.on("upload-progress", (file, progress) => showProgress(root, file, progress));
  uppy.on("upload-success", (file) => showReceived(root, file));
  uppy.on("upload-error", (file, error, response) => showFailed(root, file, error, response));
}

async function main() {
  const root = document.getElementById("uploader");
  if (!root) return;
  try {
    startUppy(root, await requestGrant(root));
  } catch (error) {
    showError(root, say("msgUnavailable", { reason: error.message }));
  }
}

main();
