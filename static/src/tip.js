// The public tip page and the return page. Without this script the tip form is a plain POST
// (text only). With it: a map to tap, "use my location", address search, ALTCHA proof-of-work
// solved in the browser, the tip sent through the API, then photos and videos sent with Uppy +
// tus under the grant the API returned. Everything is bundled; nothing is fetched elsewhere.
import "altcha";
// The widget's styles go into tip.css: the widget would inject them as a <style> element, which
// the Content-Security-Policy refuses. It skips that when the page has an element with the id
// "altcha-css" (the <link> to tip.css on the tip pages).
import "altcha/altcha.css";
// The widget's own words in Spanish (it picks them from its `language` attribute / <html lang>).
import "altcha/i18n/es-es";
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import Tus from "@uppy/tus";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";
import { tipFields } from "./tip-fields.js";
import { tipUploads } from "./tip-uploads.js";
import { uppyLocale } from "./uppy-locale.js";
import { guardReceipt } from "./tip-receipt.js";

const CHUNK_BYTES = 8 * 1024 * 1024;
// Keep retrying through a lost signal for about two minutes before giving up on a chunk.
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 15000, 30000, 60000];
const MEDIA_TYPES = ["video/*", "image/*"];
const UNDECLARED_TYPE = "application/octet-stream";


const T = (() => {
  const el = document.getElementById("tip-strings");
  return el ? JSON.parse(el.textContent) : {};
})();

function fmt(template, values) {
  return (template || "").replace(/%\((\w+)\)s/g, (_, key) => String(values[key] ?? ""));
}

async function serverMessage(response) {
  const text = (await response.text()).trim();
  try {
    return JSON.parse(text).detail || text;
  } catch {
    return text || `${response.status} ${response.statusText}`;
  }
}

function reveal(root) {
  root.querySelectorAll(".js-only").forEach((el) => {
    el.hidden = false;
  });
}

// --- files --------------------------------------------------------------------------------

function fileRow(list, file) {
  let row = list.querySelector(`[data-file-id="${CSS.escape(file.id)}"]`);
  if (!row) {
    row = document.createElement("li");
    row.dataset.fileId = file.id;
    const status = document.createElement("span");
    status.className = "status";
    status.textContent = fmt(T.sendingFile, { name: file.name });
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", fmt(T.progressOf, { name: file.name }));
    row.append(status, bar);
    list.append(row);
  }
  return row;
}

// On a touch screen nothing is dropped: the picker says plainly what it does.
function touchStrings() {
  if (!window.matchMedia?.("(pointer: coarse)").matches || !T.addPhotos) return undefined;
  return { strings: { dropPasteFiles: "%{browseFiles}", browseFiles: T.addPhotos } };
}

// Uppy with its Dashboard: where files are chosen (and previewed, and checked).
function makePicker(target, { maxFileBytes, maxFiles, showUploadButton }) {
  const uppy = new Uppy({
    // Uppy's Dashboard speaks the page's language (English is Uppy's own default).
    locale: uppyLocale(),
    autoProceed: false,
    restrictions: {
      maxFileSize: maxFileBytes || null,
      maxNumberOfFiles: maxFiles || null,
      allowedFileTypes: [...MEDIA_TYPES, UNDECLARED_TYPE],
    },
  });
  uppy.use(Dashboard, {
    inline: true,
    target,
    width: "100%",
    height: 300,
    theme: "light",
    proudlyDisplayPoweredByUppy: false,
    hideUploadButton: !showUploadButton,
    showRemoveButtonAfterComplete: false,
    locale: touchStrings(),
  });
  return uppy;
}

// The picker with tus; `grant.current` names the upload grant once there is one.
function makeUppy(target, options, list) {
  const grant = { current: null };
  const uppy = makePicker(target, options);
  uppy.use(Tus, {
    endpoint: "/api/uploads/",
    headers: () => ({ [grant.current.header]: grant.current.grant }),
    chunkSize: CHUNK_BYTES,
    retryDelays: RETRY_DELAYS_MS,
    // A retry after a lost signal carries on from the last byte the server holds.
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    allowedMetaFields: ["name", "type"],
  });
  uppy.on("upload", () => uppy.getFiles().forEach((file) => fileRow(list(), file)));
  uppy.on("upload-progress", (file, progress) => {
    if (progress.bytesTotal) {
      const bar = fileRow(list(), file).querySelector("progress");
      bar.value = Math.floor((100 * progress.bytesUploaded) / progress.bytesTotal);
    }
  });
  uppy.on("upload-success", (file) => {
    const row = fileRow(list(), file);
    row.className = "received";
    row.querySelector("progress").value = 100;
    row.querySelector(".status").textContent = fmt(T.receivedFile, { name: file.name });
  });
  uppy.on("upload-error", (file, error, response) => {
    const row = fileRow(list(), file);
    row.className = "failed";
    const reason = response?.body?.xhr?.responseText?.trim() || error.message;
    row.querySelector(".status").textContent = fmt(T.failedFile, { name: file.name, reason });
  });
  return { uppy, grant };
}

// --- the map ------------------------------------------------------------------------------

function startMap(form) {
  const el = document.getElementById("tip-map");
  const status = form.querySelector("[data-role=place-status]");
  const lat = form.querySelector("[name=latitude]");
  const lon = form.querySelector("[name=longitude]");
  let marker = null;
  let map = null;
  const place = (la, lo, message) => {
    lat.value = la.toFixed(6);
    lon.value = lo.toFixed(6);
    status.textContent = message;
    if (!map) return;
    if (marker) marker.setLatLng([la, lo]);
    else marker = window.L.marker([la, lo]).addTo(map);
    map.setView([la, lo], Math.max(map.getZoom(), 16));
  };
  if (el && window.L) {
    map = window.L.map(el).setView([40.7549, -73.984], 12);
    window.CanvassMap.basemap(map, el, { fit: "area" });
    map.on("click", (event) => place(event.latlng.lat, event.latlng.lng, T.placeSet));
  }
  form.querySelector("[data-role=locate]")?.addEventListener("click", () => {
    if (!navigator.geolocation) {
      status.textContent = T.noLocation;
      return;
    }
    status.textContent = T.locating;
    navigator.geolocation.getCurrentPosition(
      (pos) => place(pos.coords.latitude, pos.coords.longitude, T.located),
      () => {
        status.textContent = T.noLocation;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  });
  form.querySelector("[data-role=find-address]")?.addEventListener("click", async () => {
    const address = form.querySelector("[name=address]").value.trim();
    if (!address) return;
    status.textContent = T.searching;
    try {
      const response = await fetch(`${form.dataset.geocode}?${new URLSearchParams({ q: address })}`, {
        credentials: "omit",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        status.textContent = await serverMessage(response);
        return;
      }
      const found = await response.json();
      place(found.latitude, found.longitude, fmt(T.found, { label: found.label }));
    } catch {
      status.textContent = T.offline;
    }
  });
}

// --- the tip form -------------------------------------------------------------------------

// The ALTCHA widget solves its proof-of-work in a Web Worker (from focus on the form, or now).
function proofOfWork(form) {
  const widget = form.querySelector("altcha-widget");
  let payload = null;
  widget.addEventListener("statechange", (event) => {
    payload = event.detail?.state === "verified" ? event.detail.payload : null;
  });
  return {
    solved() {
      if (payload) return Promise.resolve(payload);
      return new Promise((resolve, reject) => {
        const onState = (event) => {
          const state = event.detail?.state;
          if (state === "verified") {
            widget.removeEventListener("statechange", onState);
            resolve(event.detail.payload);
          } else if (state === "error" || state === "expired") {
            widget.removeEventListener("statechange", onState);
            reject(new Error(event.detail?.error || state));
          }
        };
        widget.addEventListener("statechange", onState);
        if (widget.getState?.() !== "verifying") widget.verify();
      });
    },
    // A solution is spent by the server whether the tip is accepted or not.
    spend() {
      payload = null;
      widget.reset?.();
    },
  };
}

function tipBody(form, altcha) {
  return { ...tipFields(form), altcha };
}

// Whether the server answers at all (any status): false only on a network failure.
async function reachable(url) {
  try {
    await fetch(url, { credentials: "omit", cache: "no-store", headers: { Accept: "application/json" } });
    return true;
  } catch {
    return false;
  }
}

// --- field errors in plain words ----------------------------------------------------------

const REQUIRED = { category: "chooseCategory", description: "sayWhatHappened", occurred_at: "sayWhen" };

function fieldError(form, name, message) {
  const input = form.querySelector(`[name=${name}]`);
  const field = input?.closest(".field");
  if (!field) return false;
  let slot = field.querySelector("[data-role=field-error]");
  if (!slot) {
    slot = document.createElement("p");
    slot.className = "error";
    slot.dataset.role = "field-error";
    slot.id = `${input.id}-error`;
    input.after(slot);
  }
  slot.textContent = message;
  field.classList.add("has-error");
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", slot.id);
  return true;
}

function clearFieldErrors(form) {
  form.querySelectorAll("[data-role=field-error]").forEach((slot) => {
    const field = slot.closest(".field");
    field.classList.remove("has-error");
    field.querySelector("[aria-invalid]")?.removeAttribute("aria-invalid");
    slot.remove();
  });
}

// Empty required fields, each told in words, before any proof-of-work or sending.
function missingFields(form) {
  const data = new FormData(form);
  const missing = Object.keys(REQUIRED).filter((name) => !String(data.get(name) || "").trim());
  missing.forEach((name) => fieldError(form, name, T[REQUIRED[name]]));
  return missing;
}

// The API's per-field errors (`errors`) shown at their fields; true when any field took one.
function showServerFieldErrors(form, body) {
  let shown = false;
  for (const [name, messages] of Object.entries(body?.errors || {})) {
    if (name !== "non_field_errors" && Array.isArray(messages) && messages.length) {
      shown = fieldError(form, name, String(messages[0])) || shown;
    }
  }
  return shown;
}

async function keepForLater(form, submit) {
  await form.canvassKeepForLater();
  submit.disabled = false;
  submit.textContent = submit.dataset.label;
}

function startTipForm(form) {
  reveal(form);
  startMap(form);
  const receiptList = () => document.querySelector("#tip-receipt [data-role=files]");
  const files = makeUppy(
    form.querySelector("[data-role=dashboard]"),
    { maxFileBytes: Number(form.dataset.maxFileBytes), maxFiles: Number(form.dataset.maxFiles) },
    receiptList,
  );
  // The offline queue (tip-offline.js) reads the exact files chosen from here.
  form.canvassUppy = files.uppy;
  const error = form.querySelector("[data-role=error]");
  const submit = form.querySelector("[data-role=submit]");
  const pow = proofOfWork(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    clearFieldErrors(form);
    const missing = missingFields(form);
    if (missing.length) {
      form.querySelector(`[name=${missing[0]}]`).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = T.checking;
    try {
      let altcha;
      try {
        altcha = await pow.solved();
      } catch (powFailure) {
        // The challenge could not be fetched because the server cannot be reached: keep the
        // tip for later as below. Any other failure of the check is shown as it is.
        if (typeof form.canvassKeepForLater !== "function" || (await reachable(form.dataset.challenge))) {
          throw powFailure;
        }
        pow.spend();
        await keepForLater(form, submit);
        return;
      }
      pow.spend();
      submit.textContent = T.sending;
      let response;
      try {
        response = await fetch(form.dataset.api, {
          method: "POST",
          credentials: "omit",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify(tipBody(form, altcha)),
        });
      } catch (lost) {
        // No answer at all (the signal dropped, though the phone says it is online): keep the
        // tip on the phone with the offline queue, which sends it when the connection works.
        if (typeof form.canvassKeepForLater !== "function") throw lost;
        await keepForLater(form, submit);
        return;
      }
      if (!response.ok) {
        const text = await response.text();
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = null;
        }
        if (response.status === 400 && showServerFieldErrors(form, body)) {
          submit.disabled = false;
          submit.textContent = submit.dataset.label;
          form.querySelector(".field.has-error")?.scrollIntoView({ block: "center" });
          return;
        }
        throw new Error(body?.detail || text.trim() || `${response.status} ${response.statusText}`);
      }
      const created = await response.json();
      showReceipt(form, created, files);
    } catch (failure) {
      error.textContent = fmt(T.failed, { reason: failure.message || T.offline });
      error.hidden = false;
      submit.disabled = false;
      submit.textContent = submit.dataset.label;
      error.scrollIntoView({ block: "center" });
    }
  });
  submit.dataset.label = submit.textContent;
}

function showReceipt(form, created, files) {
  const section = document.getElementById("tip-receipt");
  section.querySelector("[data-role=receipt]").textContent = created.receipt;
  section.querySelector("[data-role=reference]").textContent = created.tip;
  form.hidden = true;
  section.hidden = false;
  guardReceipt(section);
  section.scrollIntoView({ block: "start" });
  const picked = files.uppy.getFiles();
  if (!picked.length) {
    section.querySelector("[data-role=files-status]").textContent = T.filesNone;
    return;
  }
  // Stored on the phone first, sent from there: a lost signal, a reload or a closed browser
  // only delays them (tip-uploads.js).
  const kept = picked.map((file) =>
    file.data instanceof File ? file.data : new File([file.data], file.name, { type: file.type }),
  );
  tipUploads().enqueue(kept, created.upload);
}

// --- files kept on the phone until the server has them -----------------------------------

// The page's upload settings (data-chunk-bytes, data-stall-seconds), from the server's settings.
function uploadTuning(element) {
  return { chunkBytes: Number(element.dataset.chunkBytes), stallSeconds: Number(element.dataset.stallSeconds) };
}

// Shows the queue of tip-uploads.js in `box` (its [data-role=uploads-status] and
// [data-role=files]); on the tip page the rows go under the receipt while it is shown.
function showUploads(box, { chunkBytes, stallSeconds }, receipt = null) {
  if (!box) return;
  const status = box.querySelector("[data-role=uploads-status]");
  const list = () => (receipt && !receipt.hidden ? receipt : box).querySelector("[data-role=files]");
  const keyOf = (record) => String(record.id ?? record.name);
  const row = (record) => fileRow(list(), { id: keyOf(record), name: record.name });
  let received = 0;
  const queue = tipUploads();
  queue.setChunkBytes(chunkBytes);
  queue.setStallSeconds(stallSeconds);
  queue.subscribe((event) => {
    if (event.type === "progress" && event.total) {
      row(event.record).querySelector("progress").value = Math.floor((100 * event.sent) / event.total);
    } else if (event.type === "received") {
      received += 1;
      const done = row(event.record);
      done.className = "received";
      done.querySelector("progress").value = 100;
      done.querySelector(".status").textContent = fmt(T.receivedFile, { name: event.record.name });
    } else if (event.type === "state") {
      showUploadState(box, status, receipt, event, received, queue, row);
    }
  });
  queue.run();
}

function showUploadState(box, status, receipt, state, received, queue, row) {
  for (const record of state.refused) {
    const refused = row(record);
    refused.className = "failed";
    refused.querySelector(".status").textContent = fmt(T.fileRefused, {
      name: record.name,
      reason: record.refused,
    });
    if (!refused.querySelector("button")) {
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = T.removeFile;
      remove.addEventListener("click", () => {
        refused.remove();
        queue.drop(record);
      });
      refused.append(remove);
    }
  }
  if (state.waiting) {
    status.textContent =
      state.waiting === 1 ? T.fileWaiting : fmt(T.filesWaiting, { count: state.waiting });
  } else if (received && !state.refused.length) {
    status.textContent = T.filesDone;
    const filesStatus = receipt?.querySelector("[data-role=files-status]");
    if (filesStatus && !receipt.hidden) filesStatus.textContent = T.filesDone;
  } else {
    status.textContent = "";
  }
  box.hidden = !status.textContent && !state.refused.length;
}

// --- the return page ----------------------------------------------------------------------

// Files chosen here are stored on the phone and sent from there, like the tip form's
// (tip-uploads.js): a lost signal or a reload of this page only delays them. What is stored is
// the file, the grant and the tus URL; never the receipt.
function startReturnUploader(root) {
  reveal(root.parentElement);
  const error = root.querySelector("[data-role=error]");
  const uppy = makePicker(root.querySelector("[data-role=dashboard]"), { showUploadButton: true });
  let grant = null;
  // The grant is asked for when the person presses Upload, so an idle page holds none.
  async function grantForFiles() {
    if (grant) return grant;
    const response = await fetch(root.dataset.grantUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) {
      const message = await serverMessage(response);
      error.textContent = message;
      error.hidden = false;
      throw new Error(message);
    }
    grant = await response.json();
    return grant;
  }
  uppy.addUploader(async (fileIDs) => {
    const upload = await grantForFiles();
    error.hidden = true;
    const kept = fileIDs.map((id) => {
      const file = uppy.getFile(id);
      return file.data instanceof File ? file.data : new File([file.data], file.name, { type: file.type });
    });
    await tipUploads().enqueue(kept, upload);
  });
  // Handed to the queue, which shows their progress below: the picker is ready for more.
  uppy.on("complete", (result) => {
    if (result.successful?.length) uppy.cancelAll();
  });
  showUploads(root.querySelector("[data-role=uploads]"), uploadTuning(root));
}

const tipForm = document.getElementById("tip-form");
if (tipForm) {
  startTipForm(tipForm);
  showUploads(
    document.getElementById("tip-uploads"),
    uploadTuning(tipForm),
    document.getElementById("tip-receipt"),
  );
}
const returnUploader = document.getElementById("return-uploader");
if (returnUploader) startReturnUploader(returnUploader);
