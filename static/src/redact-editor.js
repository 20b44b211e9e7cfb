// The reviewer's redaction editor: the original (its playback copy) with the draft recipe's
// boxes for the current frame drawn over it on a canvas. Time -> frame by the recipe's fps.
//
// Red: detected faces (as they will be masked, grown by the mask scale); grey dashed: detections
// a reviewer removed; yellow: the reviewer's own boxes (solid on a keyframe, dashed where
// tracked or held); blue dashed: the regions where detections are removed. Pointer events, so a
// finger works as a mouse does: drag on empty picture to draw a box, tap a box to select it, drag
// it to move it, drag a corner to resize it. Moving or resizing your own box on a frame puts a
// keyframe there: tracking restarts from each keyframe (the server tracks, with CSRT).
//
// Edits go to the server as JSON (validated there; a refused save leaves the saved draft). Text
// from the draft (labels) only ever reaches the page as text nodes or canvas text.
import Hls from "hls.js/light";

const HANDLE = 14; // css px: a corner handle's half-size for hit testing (fingers need room)
const MIN_DRAW = 8; // css px: a drag shorter than this is a tap
const DEFAULT_SECONDS = 10; // a new box runs this long from where it was drawn

const root = document.getElementById("redact-editor");
const data = JSON.parse(document.getElementById("redaction-draft").textContent);
const draft = data.draft;
const src = draft.source;
const isVideo = src.kind === "video";
const fps = src.fps || 30;
const frames = Math.max(1, src.frames || 1);
const media = document.getElementById("redact-media");
const canvas = document.getElementById("redact-canvas");
const stage = document.getElementById("redact-stage");
const ctx = canvas.getContext("2d");
const $ = (id) => document.getElementById(id);
const status = $("redact-status");
const canEdit = data.can_edit && !!status;

const state = {
  fill: draft.params.fill,
  manual: draft.manual_boxes.map((m) => ({ ...m, keyframes: { ...m.keyframes }, tracked: { ...(m.tracked || {}) } })),
  suppressed: (draft.suppressed || []).map((s) => ({ ...s, box: [...s.box] })),
  mutes: (draft.mute_ranges || []).map((r) => [...r]),
  selected: null, // {type: "det", frame, index} | {type: "manual", id} | {type: "supp", index}
  dirty: false,
};
let nextId = 1;

function say(text, isError = false) {
  if (!status) return;
  status.textContent = text;
  status.classList.toggle("error", isError);
}

// --- frames and time ---------------------------------------------------------------------

// While paused the editor's own frame number is the truth (a seek may still be under way, or
// the video not loaded yet); while playing, the video's clock.
let pausedFrame = 0;

function timeFrame() {
  return Math.max(0, Math.min(frames - 1, Math.floor(media.currentTime * fps + 1e-4)));
}

function currentFrame() {
  if (!isVideo) return 0;
  return media.paused ? pausedFrame : timeFrame();
}

// Stop playing at the frame on screen (before anything is edited on it).
function hold() {
  if (isVideo && !media.paused) {
    pausedFrame = timeFrame();
    media.pause();
  }
}

function seekFrame(frame) {
  if (!isVideo) return;
  pausedFrame = Math.max(0, Math.min(frames - 1, frame));
  media.pause();
  media.currentTime = (pausedFrame + 0.5) / fps;
  draw();
}

// --- what is on a frame ------------------------------------------------------------------

function scaled(box) {
  const s = draft.params.mask_scale;
  const [x1, y1, x2, y2] = box;
  const gw = ((x2 - x1) * (s - 1)) / 2;
  const gh = ((y2 - y1) * (s - 1)) / 2;
  return [Math.max(0, x1 - gw), Math.max(0, y1 - gh), Math.min(src.width, x2 + gw), Math.min(src.height, y2 + gh)];
}

// As the server's rule (portal/redact.py _suppressed): over the region's frames, the
// detection's centre inside it and the two overlapping by at least SUPPRESS_MIN_IOU (the same
// object; a smaller or larger face passing it stays masked).
const SUPPRESS_MIN_IOU = 0.4;

function suppressedAt(box, frame) {
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  const area = Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1]);
  return state.suppressed.some((r) => {
    if (!(r.start <= frame && frame <= r.end && r.box[0] <= cx && cx <= r.box[2] && r.box[1] <= cy && cy <= r.box[3])) return false;
    const iw = Math.min(r.box[2], box[2]) - Math.max(r.box[0], box[0]);
    const ih = Math.min(r.box[3], box[3]) - Math.max(r.box[1], box[1]);
    const inter = Math.max(0, iw) * Math.max(0, ih);
    const union = area + (r.box[2] - r.box[0]) * (r.box[3] - r.box[1]) - inter;
    return union > 0 && inter / union >= SUPPRESS_MIN_IOU;
  });
}

function detectionsAt(frame) {
  return (draft.detections[String(frame)] || []).map((b, index) => ({ box: b, index, off: suppressedAt(b, frame) }));
}

function keyframeList(m) {
  return Object.keys(m.keyframes)
    .map(Number)
    .sort((a, b) => a - b);
}

function manualAt(m, frame) {
  if (frame < m.start || frame > m.end) return null;
  const tracked = m.tracked[String(frame)];
  if (tracked) return { box: tracked, key: String(frame) in m.keyframes };
  const keys = keyframeList(m);
  if (!keys.length) return null;
  const before = keys.filter((k) => k <= frame);
  const k = before.length ? before[before.length - 1] : keys[0];
  return { box: m.keyframes[String(k)], key: k === frame };
}

// --- drawing -------------------------------------------------------------------------------

function scale() {
  return { x: canvas.clientWidth / src.width, y: canvas.clientHeight / src.height };
}

function fitCanvas() {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * ratio);
  const h = Math.round(canvas.clientHeight * ratio);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
}

function rect(box, colour, { dashed = false, width = 2, selected = false } = {}) {
  const s = scale();
  const [x1, y1, x2, y2] = box;
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = selected ? width + 2 : width;
  ctx.setLineDash(dashed ? [6, 4] : []);
  ctx.strokeRect(x1 * s.x, y1 * s.y, (x2 - x1) * s.x, (y2 - y1) * s.y);
  if (selected) {
    ctx.setLineDash([]);
    ctx.fillStyle = colour;
    for (const [hx, hy] of corners(box)) ctx.fillRect(hx * s.x - 6, hy * s.y - 6, 12, 12);
  }
  ctx.restore();
}

function corners(box) {
  const [x1, y1, x2, y2] = box;
  return [
    [x1, y1],
    [x2, y1],
    [x1, y2],
    [x2, y2],
  ];
}

function isSelected(type, key) {
  const sel = state.selected;
  return !!sel && sel.type === type && (type === "manual" ? sel.id === key : sel.index === key);
}

function draw() {
  fitCanvas();
  ctx.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  const frame = currentFrame();
  for (const d of detectionsAt(frame)) {
    const selected = state.selected && state.selected.type === "det" && state.selected.index === d.index && state.selected.frame === frame;
    rect(scaled(d.box), d.off ? "#c8c8c8" : "#ff3b30", { dashed: d.off, selected });
  }
  state.suppressed.forEach((r, index) => {
    if (r.start <= frame && frame <= r.end) rect(r.box, "#4ea3ff", { dashed: true, selected: isSelected("supp", index) });
  });
  for (const m of state.manual) {
    const at = manualAt(m, frame);
    if (at) rect(at.box, "#ffd60a", { dashed: !at.key, width: 3, selected: isSelected("manual", m.id) });
  }
  const label = $("redact-frame");
  if (label) label.textContent = `Frame ${frame} of ${frames - 1} · ${(frame / fps).toFixed(2)} s`;
  const seek = $("redact-seek");
  if (seek && document.activeElement !== seek) seek.value = String(frame);
}

// --- selection and the panel -----------------------------------------------------------------

function selectedBox(frame = currentFrame()) {
  const sel = state.selected;
  if (!sel) return null;
  if (sel.type === "manual") {
    const m = state.manual.find((x) => x.id === sel.id);
    const at = m && manualAt(m, frame);
    return at ? at.box : null;
  }
  if (sel.type === "supp") return state.suppressed[sel.index] ? state.suppressed[sel.index].box : null;
  const d = (draft.detections[String(sel.frame)] || [])[sel.index];
  return d && sel.frame === frame ? scaled(d) : null;
}

// Detection runs on every `detectEvery`-th frame and on the last (portal/redact.py _Pass).
const detectEvery = Math.max(1, Number((draft.params || {}).detect_every) || 1);

// The detection frame next to detection frame `f` in the direction `step` (-1 or 1), or -1.
function nextDetectionFrame(f, step) {
  const last = frames - 1;
  if (step > 0) {
    if (f >= last) return -1;
    return Math.min(last, (Math.floor(f / detectEvery) + 1) * detectEvery);
  }
  if (f <= 0) return -1;
  return f % detectEvery ? f - (f % detectEvery) : f - detectEvery;
}

// The run of detection frames around `frame` where a detection overlaps this one (the same
// object), and the frames between them.
function detectionRun(frame, box) {
  const overlaps = (a, b) => !(a[2] < b[0] || b[2] < a[0] || a[3] < b[1] || b[3] < a[1]);
  let union = [...box.slice(0, 4)];
  const walk = (step) => {
    let last = box;
    let f = nextDetectionFrame(frame, step);
    let end = frame;
    while (f >= 0 && f < frames) {
      const near = (draft.detections[String(f)] || []).find((b) => overlaps(b, last));
      if (!near) break;
      union = [Math.min(union[0], near[0]), Math.min(union[1], near[1]), Math.max(union[2], near[2]), Math.max(union[3], near[3])];
      last = near;
      end = f;
      f = nextDetectionFrame(f, step);
    }
    return end;
  };
  const start = walk(-1);
  const end = walk(1);
  return { start, end, box: union.map(Math.round) };
}

// The selected detection's object on each detection frame from `start` to `end`: [frame, box].
function detectionChain(frame, start, end) {
  const overlaps = (a, b) => !(a[2] < b[0] || b[2] < a[0] || a[3] < b[1] || b[3] < a[1]);
  const first = (draft.detections[String(frame)] || [])[state.selected.index];
  if (!first) return [];
  const chain = [[frame, first.slice(0, 4)]];
  for (const step of [-1, 1]) {
    let last = first;
    for (let f = nextDetectionFrame(frame, step); f >= start && f <= end && f >= 0; f = nextDetectionFrame(f, step)) {
      const near = (draft.detections[String(f)] || []).find((b) => overlaps(b, last));
      if (!near) break;
      chain.push([f, near.slice(0, 4)]);
      last = near;
    }
  }
  return chain.sort((a, b) => a[0] - b[0]);
}

function panel() {
  const box = $("redact-selected");
  if (!box) return;
  const sel = state.selected;
  box.hidden = !sel;
  if (!sel) return;
  const what = $("redact-selected-what");
  const start = $("redact-start");
  const end = $("redact-end");
  $("redact-suppress").hidden = sel.type !== "det";
  $("redact-track").hidden = sel.type !== "manual" || !isVideo;
  $("redact-delete").hidden = sel.type === "det";
  $("redact-label-row").hidden = sel.type !== "manual";
  $("redact-range").hidden = !isVideo;
  for (const input of [start, end]) input.max = String(frames - 1);
  if (sel.type === "det") {
    what.textContent = `A detected face at frame ${sel.frame}. If it is not a face, remove it over the frames below.`;
    start.value = String(sel.run.start);
    end.value = String(sel.run.end);
  } else if (sel.type === "supp") {
    const r = state.suppressed[sel.index];
    what.textContent = `Detections inside this region are not masked from frame ${r.start} to ${r.end}.`;
    start.value = String(r.start);
    end.value = String(r.end);
  } else {
    const m = state.manual.find((x) => x.id === sel.id);
    const keys = keyframeList(m);
    const tracked = Object.keys(m.tracked).length;
    what.textContent =
      `Your box, frames ${m.start} to ${m.end}; keyframes at ${keys.join(", ")}; ` +
      (tracked ? `tracked on ${tracked} frames.` : "not tracked yet (it holds still between keyframes).");
    start.value = String(m.start);
    end.value = String(m.end);
    $("redact-label").value = m.label || "";
  }
}

function select(sel) {
  state.selected = sel;
  panel();
  draw();
}

function changed() {
  state.dirty = true;
  say("Unsaved changes.");
  panel();
  draw();
}

function setRange(start, end) {
  const sel = state.selected;
  if (!sel) return;
  const a = Math.max(0, Math.min(frames - 1, start));
  const b = Math.max(a, Math.min(frames - 1, end));
  if (sel.type === "det") {
    sel.run = { ...sel.run, start: a, end: b };
    panel();
    return;
  }
  if (sel.type === "supp") {
    Object.assign(state.suppressed[sel.index], { start: a, end: b });
  } else {
    const m = state.manual.find((x) => x.id === sel.id);
    // Keyframes outside the new range go; at least one stays (moved to the range's start).
    const inside = keyframeList(m).filter((k) => k >= a && k <= b);
    const keep = {};
    for (const k of inside) keep[String(k)] = m.keyframes[String(k)];
    if (!inside.length) {
      const box = manualAt(m, Math.max(m.start, Math.min(m.end, a))) || { box: m.keyframes[String(keyframeList(m)[0])] };
      keep[String(a)] = box.box;
    }
    Object.assign(m, { start: a, end: b, keyframes: keep, tracked: {} });
  }
  changed();
}

// --- pointer: draw, select, move, resize -----------------------------------------------------

function toPicture(event) {
  const r = canvas.getBoundingClientRect();
  const s = scale();
  return [(event.clientX - r.left) / s.x, (event.clientY - r.top) / s.y];
}

function clampBox(box) {
  let [x1, y1, x2, y2] = box.map(Math.round);
  if (x2 < x1) [x1, x2] = [x2, x1];
  if (y2 < y1) [y1, y2] = [y2, y1];
  x1 = Math.max(0, Math.min(src.width - 2, x1));
  y1 = Math.max(0, Math.min(src.height - 2, y1));
  x2 = Math.max(x1 + 2, Math.min(src.width, x2));
  y2 = Math.max(y1 + 2, Math.min(src.height, y2));
  return [x1, y1, x2, y2];
}

function inside(box, [x, y]) {
  return box[0] <= x && x <= box[2] && box[1] <= y && y <= box[3];
}

function hit(point, frame) {
  const s = scale();
  const box = selectedBox(frame);
  if (box && state.selected.type !== "det") {
    const corner = corners(box).findIndex(([hx, hy]) => Math.abs((hx - point[0]) * s.x) <= HANDLE && Math.abs((hy - point[1]) * s.y) <= HANDLE);
    if (corner >= 0) return { sel: state.selected, corner };
  }
  for (const m of [...state.manual].reverse()) {
    const at = manualAt(m, frame);
    if (at && inside(at.box, point)) return { sel: { type: "manual", id: m.id } };
  }
  for (let i = state.suppressed.length - 1; i >= 0; i -= 1) {
    const r = state.suppressed[i];
    if (r.start <= frame && frame <= r.end && inside(r.box, point)) return { sel: { type: "supp", index: i } };
  }
  for (const d of detectionsAt(frame)) {
    if (inside(scaled(d.box), point)) {
      return { sel: { type: "det", frame, index: d.index, run: detectionRun(frame, d.box) }, fixed: true };
    }
  }
  return null;
}

// Put `box` where the selected box is on this frame: a manual box gets a keyframe here.
function placeSelected(box, frame) {
  const sel = state.selected;
  if (sel.type === "supp") {
    state.suppressed[sel.index].box = box;
    return;
  }
  const m = state.manual.find((x) => x.id === sel.id);
  m.keyframes[String(frame)] = box;
  // What was tracked from an earlier keyframe past this one no longer stands.
  const next = keyframeList(m).find((k) => k > frame);
  for (const key of Object.keys(m.tracked)) {
    const k = Number(key);
    if (k >= frame && (next === undefined || k < next)) delete m.tracked[key];
  }
}

let drag = null;

canvas.addEventListener("pointerdown", (event) => {
  if (!canEdit || event.button > 0) return;
  hold();
  const frame = currentFrame();
  const point = toPicture(event);
  const found = hit(point, frame);
  canvas.setPointerCapture(event.pointerId);
  if (found) {
    if (!found.corner && !(state.selected && JSON.stringify(found.sel) === JSON.stringify(state.selected))) select(found.sel);
    const box = selectedBox(frame);
    drag = { mode: found.fixed ? "none" : found.corner !== undefined ? "resize" : "move", corner: found.corner, from: point, box, frame, moved: false };
  } else {
    drag = { mode: "draw", from: point, to: point, frame, moved: false };
  }
  event.preventDefault();
});

canvas.addEventListener("pointermove", (event) => {
  if (!drag) return;
  const point = toPicture(event);
  const s = scale();
  const dx = point[0] - drag.from[0];
  const dy = point[1] - drag.from[1];
  if (!drag.moved && Math.hypot(dx * s.x, dy * s.y) < MIN_DRAW) return;
  drag.moved = true;
  if (drag.mode === "draw") {
    drag.to = point;
    draw();
    rect(clampBox([...drag.from, ...point]), "#ffd60a", { width: 3 });
  } else if (drag.mode === "move") {
    const [x1, y1, x2, y2] = drag.box;
    const w = x2 - x1;
    const h = y2 - y1;
    const nx = Math.max(0, Math.min(src.width - w, x1 + dx));
    const ny = Math.max(0, Math.min(src.height - h, y1 + dy));
    placeSelected(clampBox([nx, ny, nx + w, ny + h]), drag.frame);
    draw();
  } else if (drag.mode === "resize") {
    const b = [...drag.box];
    const [ix, iy] = [[0, 1], [2, 1], [0, 3], [2, 3]][drag.corner];
    b[ix] += dx;
    b[iy] += dy;
    placeSelected(clampBox(b), drag.frame);
    draw();
  }
});

function endDrag(event) {
  if (!drag) return;
  const d = drag;
  drag = null;
  if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
  if (d.mode === "draw") {
    if (!d.moved) {
      select(null);
      return;
    }
    const box = clampBox([...d.from, ...d.to]);
    let id;
    do id = `m${Date.now().toString(36)}${nextId++}`;
    while (state.manual.some((m) => m.id === id));
    const end = isVideo ? Math.min(frames - 1, d.frame + Math.round(fps * DEFAULT_SECONDS)) : 0;
    state.manual.push({ id, label: "", start: d.frame, end, keyframes: { [String(d.frame)]: box }, tracked: {} });
    state.selected = { type: "manual", id };
    changed();
    say(isVideo ? "Box added. Track it to follow the object, then check it frame by frame." : "Box added.");
  } else if (d.moved && d.mode !== "none") {
    changed();
  }
}
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);

// --- saving, tracking, approving --------------------------------------------------------------

function payload() {
  return {
    fill: state.fill,
    manual_boxes: state.manual.map(({ id, label, start, end, keyframes }) => ({ id, label, start, end, keyframes })),
    suppressed: state.suppressed.map(({ start, end, box }) => ({ start, end, box })),
    mute_ranges: state.mutes,
  };
}

async function post(url, body) {
  const csrf = document.querySelector("#redact-csrf input[name=csrfmiddlewaretoken]").value;
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch (e) {
    answer = { error: `The server answered ${response.status}.` };
  }
  if (!response.ok) throw new Error(answer.error || `The server answered ${response.status}.`);
  return answer;
}

function adopt(answer) {
  const selectedId = state.selected && state.selected.type === "manual" ? state.selected.id : null;
  state.manual = answer.manual_boxes.map((m) => ({ ...m, keyframes: { ...m.keyframes }, tracked: { ...(m.tracked || {}) } }));
  state.suppressed = answer.suppressed.map((s) => ({ ...s, box: [...s.box] }));
  state.mutes = answer.mute_ranges.map((r) => [...r]);
  state.fill = answer.fill;
  state.dirty = false;
  // The draft as now saved is the one approved (the server refuses a draft changed since).
  const seen = document.querySelector("#redact-approve-form input[name=draft_sha256]");
  if (seen && answer.draft_sha256) seen.value = answer.draft_sha256;
  if (state.selected && state.selected.type === "supp" && !state.suppressed[state.selected.index]) state.selected = null;
  if (selectedId && !state.manual.some((m) => m.id === selectedId)) state.selected = null;
  mutes();
  panel();
  draw();
}

let busy = false;
async function save() {
  const answer = await post(data.urls.draft, payload());
  adopt(answer);
  return answer;
}

async function guarded(work, doing) {
  if (busy) return;
  busy = true;
  root.setAttribute("aria-busy", "true");
  say(doing);
  try {
    await work();
  } catch (e) {
    say(e.message, true);
  } finally {
    busy = false;
    root.removeAttribute("aria-busy");
  }
}

// --- mute ranges ----------------------------------------------------------------------------------

function numberField(labelText, value, onChange) {
  const label = document.createElement("label");
  label.append(document.createTextNode(labelText));
  const input = document.createElement("input");
  input.type = "number";
  input.step = "0.1";
  input.min = "0";
  input.inputMode = "decimal";
  input.value = String(value);
  input.addEventListener("change", () => onChange(Number(input.value)));
  label.append(input);
  return label;
}

function button(text, onClick, cls = "secondary") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = cls;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function mutes() {
  const list = $("redact-mute-list");
  if (!list) return;
  list.replaceChildren();
  state.mutes.forEach((range, i) => {
    const li = document.createElement("li");
    li.append(
      numberField(`Mute ${i + 1} from (s)`, range[0], (v) => {
        range[0] = v;
        changed();
      }),
      numberField("to (s)", range[1], (v) => {
        range[1] = v;
        changed();
      }),
      button("End here", () => {
        range[1] = Math.round((currentFrame() / fps) * 1000) / 1000;
        mutes();
        changed();
      }),
      button("Remove", () => {
        state.mutes.splice(i, 1);
        mutes();
        changed();
      }),
    );
    list.append(li);
  });
}

// --- wiring ------------------------------------------------------------------------------------

function wire() {
  if (!canEdit) return;
  $("redact-start").addEventListener("change", () => setRange(Number($("redact-start").value), Number($("redact-end").value)));
  $("redact-end").addEventListener("change", () => setRange(Number($("redact-start").value), Number($("redact-end").value)));
  $("redact-start-here").addEventListener("click", () => setRange(currentFrame(), Math.max(currentFrame(), Number($("redact-end").value))));
  $("redact-end-here").addEventListener("click", () => setRange(Math.min(currentFrame(), Number($("redact-start").value)), currentFrame()));
  $("redact-label").addEventListener("change", () => {
    const m = state.manual.find((x) => state.selected && x.id === state.selected.id);
    if (m) {
      m.label = $("redact-label").value.slice(0, 100);
      changed();
    }
  });
  $("redact-suppress").addEventListener("click", () => {
    const sel = state.selected;
    if (!sel || sel.type !== "det") return;
    const padded = ([x1, y1, x2, y2]) => {
      const padX = Math.round((x2 - x1) * 0.1);
      const padY = Math.round((y2 - y1) * 0.1);
      return clampBox([x1 - padX, y1 - padY, x2 + padX, y2 + padY]);
    };
    const before = state.suppressed.length;
    state.suppressed.push({ start: sel.run.start, end: sel.run.end, box: padded(sel.run.box) });
    // One region over the run removes a still object; a moving one (whose detections the run's
    // whole area does not match: suppressedAt) gets a region on each of its detection frames.
    const chain = detectionChain(sel.frame, sel.run.start, sel.run.end);
    if (chain.some(([f, box]) => !suppressedAt(box, f))) {
      state.suppressed.splice(before, 1);
      for (const [f, box] of chain) state.suppressed.push({ start: f, end: f, box: padded(box) });
    }
    state.selected = { type: "supp", index: state.suppressed.length - 1 };
    changed();
  });
  $("redact-delete").addEventListener("click", () => {
    const sel = state.selected;
    if (!sel) return;
    if (sel.type === "manual") state.manual = state.manual.filter((m) => m.id !== sel.id);
    if (sel.type === "supp") state.suppressed.splice(sel.index, 1);
    state.selected = null;
    changed();
  });
  $("redact-track").addEventListener("click", () =>
    guarded(async () => {
      const id = state.selected && state.selected.id;
      await save();
      const answer = await post(data.urls.track, { box: id });
      adopt(answer);
      const m = state.manual.find((x) => x.id === id);
      say(`Tracked over frames ${m.start} to ${m.end}. Step through it; where the box is off, drag it into place (that adds a keyframe) and track again.`);
    }, "Tracking…"),
  );
  $("redact-save").addEventListener("click", () => guarded(async () => {
    await save();
    say("Draft saved.");
  }, "Saving…"));
  document.querySelectorAll("input[name=redact-fill]").forEach((radio) =>
    radio.addEventListener("change", () => {
      if (radio.checked) {
        state.fill = radio.value;
        changed();
      }
    }),
  );
  const add = $("redact-mute-add");
  if (add) {
    add.addEventListener("click", () => {
      const at = Math.round((currentFrame() / fps) * 1000) / 1000;
      const length = frames / fps;
      state.mutes.push([Math.min(at, Math.max(0, length - 0.1)), Math.min(length, at + 1)]);
      mutes();
      changed();
    });
  }
  const form = $("redact-approve-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      await save();
      say("Approving…");
      form.submit();
    }, "Saving…");
  });
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty && !busy) event.preventDefault();
  });
}

function attachVideo() {
  if (media.dataset.mp4) {
    media.src = media.dataset.mp4;
  } else if (media.dataset.hls && media.canPlayType("application/vnd.apple.mpegurl")) {
    media.src = media.dataset.hls;
  } else if (Hls.isSupported() && media.dataset.hls) {
    const hls = new Hls();
    hls.loadSource(media.dataset.hls);
    hls.attachMedia(media);
  } else {
    say("This browser cannot play this video.", true);
  }
  let playing = false;
  const loop = () => {
    draw();
    if (playing) requestAnimationFrame(loop);
  };
  media.addEventListener("play", () => {
    playing = true;
    if (pausedFrame >= frames - 1) media.currentTime = 0;
    $("redact-play").textContent = "Pause";
    requestAnimationFrame(loop);
  });
  media.addEventListener("pause", () => {
    if (playing) pausedFrame = timeFrame();
    playing = false;
    $("redact-play").textContent = "Play";
    draw();
  });
  media.addEventListener("seeked", draw);
  media.addEventListener("loadeddata", () => seekFrame(pausedFrame));
  $("redact-play").addEventListener("click", () => (media.paused ? media.play() : hold()));
  $("redact-prev").addEventListener("click", () => seekFrame(currentFrame() - 1));
  $("redact-next").addEventListener("click", () => seekFrame(currentFrame() + 1));
  $("redact-seek").addEventListener("input", () => seekFrame(Number($("redact-seek").value)));
}

stage.style.aspectRatio = `${src.width} / ${src.height}`;
stage.style.maxWidth = `calc(70vh * ${(src.width / src.height).toFixed(4)})`;
if (isVideo) attachVideo();
else if (media.complete) draw();
else media.addEventListener("load", draw);
window.addEventListener("resize", draw);
wire();
mutes();
draw();
root.dataset.ready = "true"; // (the browser tests wait for this before they draw)
