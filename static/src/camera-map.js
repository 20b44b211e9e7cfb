// Registry maps: the owner's pin and field-of-view cone, the public count grid, the
// investigators' map and the incident picker. Leaflet comes from django-leaflet's static
// files (window.L); the basemap from the shared module (static/src/basemap.js).

const STEPS = 16;
const M_PER_DEG = 111320;

// The same cone as registry/mapshapes.py: apex at the camera, an arc at `range` metres.
export function cone(lat, lon, direction, angle, range) {
  const at = (bearing) => {
    const b = (bearing * Math.PI) / 180;
    return [
      lat + (range * Math.cos(b)) / M_PER_DEG,
      lon + (range * Math.sin(b)) / (M_PER_DEG * Math.max(Math.cos((lat * Math.PI) / 180), 1e-6)),
    ];
  };
  if (angle >= 360) return Array.from({ length: STEPS * 2 }, (_, i) => at((360 * i) / (STEPS * 2)));
  const start = direction - angle / 2;
  return [[lat, lon], ...Array.from({ length: STEPS + 1 }, (_, i) => at(start + (angle * i) / STEPS))];
}

function baseMap(el, centre, zoom) {
  const map = L.map(el).setView(centre, zoom);
  return window.CanvassMap.basemap(map, el);
}

function num(id, fallback) {
  const v = parseFloat((document.getElementById(id) || {}).value);
  return Number.isFinite(v) ? v : fallback;
}

// Where the cone's tip is: `range` metres from the pin towards `direction` (same flat-earth
// approximation as cone()).
function tipOf(lat, lon, direction, range) {
  const b = (direction * Math.PI) / 180;
  return [
    lat + (range * Math.cos(b)) / M_PER_DEG,
    lon + (range * Math.sin(b)) / (M_PER_DEG * Math.max(Math.cos((lat * Math.PI) / 180), 1e-6)),
  ];
}

// The inverse of tipOf: the bearing (0 = north, clockwise, whole degrees 0-359) and distance
// (whole metres, within the form's 1-500) from the pin to a point the owner dragged the tip to.
export function aimOf(lat, lon, tipLat, tipLon) {
  const north = (tipLat - lat) * M_PER_DEG;
  const east = (tipLon - lon) * M_PER_DEG * Math.max(Math.cos((lat * Math.PI) / 180), 1e-6);
  const direction = Math.round(((Math.atan2(east, north) * 180) / Math.PI + 360) % 360) % 360;
  const range = Math.min(Math.max(Math.round(Math.hypot(north, east)), 1), 500);
  return { direction, range };
}

function setField(id, value) {
  const input = document.getElementById(id);
  if (input) input.value = String(value);
}

function ownerMap(el) {
  const lat = document.getElementById("id_latitude");
  const lon = document.getElementById("id_longitude");
  const start = [parseFloat(lat.value) || parseFloat(el.dataset.lat), parseFloat(lon.value) || parseFloat(el.dataset.lon)];
  const map = baseMap(el, start, 18);
  const icon = L.divIcon({ className: "camera-pin", iconSize: [22, 22] });
  const marker = L.marker(start, { draggable: true, icon, keyboard: true, title: say(el, "msgDrag", "Camera position: drag me") }).addTo(map);
  marker.getElement().id = "camera-pin";
  const shape = L.polygon([], { color: "#1d4e89", weight: 1, fillOpacity: 0.25, interactive: false }).addTo(map);
  // The handle at the cone's tip: dragging it aims the camera and sets its range. Out of the
  // tab order: the direction and range fields are the keyboard's way to the same values.
  const handleIcon = L.divIcon({ className: "cone-handle", iconSize: [26, 26] });
  const handle = L.marker(start, { draggable: true, icon: handleIcon, keyboard: false, title: el.dataset.handleTitle || "" }).addTo(map);
  handle.getElement().id = "cone-handle";
  const status = document.getElementById("pin-position");
  const redraw = (moveHandle = true) => {
    const p = marker.getLatLng();
    lat.value = p.lat.toFixed(7);
    lon.value = p.lng.toFixed(7);
    const direction = num("id_direction_deg", 0);
    const range = num("id_range_m", 15);
    shape.setLatLngs(cone(p.lat, p.lng, direction, num("id_fov_angle_deg", 90), range));
    if (moveHandle) handle.setLatLng(tipOf(p.lat, p.lng, direction, range));
    if (status) status.textContent = say(el, "msgPin", "Pin at {n}", `${lat.value}, ${lon.value}`);
    el.dataset.ready = "1";
  };
  const aim = (moveHandle) => {
    const p = marker.getLatLng();
    const t = handle.getLatLng();
    const { direction, range } = aimOf(p.lat, p.lng, t.lat, t.lng);
    setField("id_direction_deg", direction);
    setField("id_range_m", range);
    redraw(moveHandle);
  };
  marker.on("drag dragend", () => redraw());
  handle.on("drag", () => aim(false));
  // Snapped back onto the cone once let go: the range may have been clamped to 1-500 m.
  handle.on("dragend", () => aim(true));
  map.on("click", (e) => { marker.setLatLng(e.latlng); redraw(); });
  // The map's address search (basemap.js) found a place: the camera is most likely there, so
  // the pin goes there, the cone and its handle with it, and the hidden fields follow.
  el.addEventListener("canvass:place", (event) => {
    const place = event.detail || {};
    if (!Number.isFinite(place.lat) || !Number.isFinite(place.lon)) return;
    marker.setLatLng([place.lat, place.lon]);
    redraw();
    if (status) {
      const label = String(place.label || "");
      status.textContent = say(el, "msgFound", "Pin moved to the address found, {label} ({n}). Drag it onto the camera if it is not exactly there.", `${lat.value}, ${lon.value}`)
        .replace("{label}", () => label);
    }
  });
  for (const id of ["id_direction_deg", "id_fov_angle_deg", "id_range_m"]) {
    const input = document.getElementById(id);
    if (input) input.addEventListener("input", () => redraw());
  }
  redraw();
}

// The page's words for what the map says (data-msg-* on the map element, in the page's
// language); English where the page gives none. "{n}" stands for a number.
function say(el, key, english, n) {
  return (el.dataset[key] || english).replace("{n}", String(n));
}

// Presets ("doorbell", "driveway", ...): buttons whose data- attributes fill the form's fields,
// then tell the map (an input event) so the cone follows.
function presets() {
  for (const button of document.querySelectorAll("button[data-preset]")) {
    button.addEventListener("click", () => {
      const fields = JSON.parse(button.dataset.preset);
      for (const [id, value] of Object.entries(fields)) {
        const input = document.getElementById(id);
        if (!input) continue;
        input.value = String(value);
        input.dispatchEvent(new Event("input", { bubbles: true }));
      }
      const said = document.getElementById("preset-status");
      if (said) said.textContent = button.dataset.said || "";
    });
  }
}

// "Records all day" hides the recording hours it makes unnecessary.
function recordingHours() {
  const always = document.getElementById("id_records_always");
  const hours = document.getElementById("recording-hours");
  if (!always || !hours) return;
  const show = () => { hours.hidden = always.checked; };
  always.addEventListener("change", show);
  show();
}

// The owner's footage request: their camera(s) with the cone, and the incident's point.
function requestMap(el) {
  const data = JSON.parse(document.getElementById("request-map-data").textContent);
  const first = data.cameras[0];
  const map = baseMap(el, [first.lat, first.lon], 17);
  const bounds = [];
  for (const c of data.cameras) {
    L.polygon(cone(c.lat, c.lon, c.direction_deg, c.fov_angle_deg, c.range_m), { color: "#1d4e89", weight: 1, fillOpacity: 0.25 }).addTo(map);
    L.circleMarker([c.lat, c.lon], { radius: 6, color: "#1d4e89" }).bindPopup(textPopup(c.name)).addTo(map);
    bounds.push([c.lat, c.lon]);
  }
  if (data.incident) {
    L.circleMarker(data.incident, { radius: 8, color: "#b42318", fillOpacity: 0.6 }).addTo(map);
    bounds.push(data.incident);
  }
  if (bounds.length > 1) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 18 });
  el.dataset.ready = "1";
}

// Text for a popup or icon as a DOM node: camera names are typed by residents, never HTML.
function textPopup(text) {
  const box = document.createElement("span");
  box.textContent = text;
  return box;
}

function countIcon(n) {
  const size = n < 10 ? 26 : n < 100 ? 32 : n < 1000 ? 38 : 46;
  return L.divIcon({ className: "cell-count", html: textPopup(String(n)), iconSize: [size, size] });
}

function gridMap(el, extraParams) {
  let map;
  if (el.dataset.bounds) {
    const [w, s, e, n] = el.dataset.bounds.split(",").map(Number);
    map = baseMap(el, [(s + n) / 2, (w + e) / 2], 12);
    map.fitBounds([[s, w], [n, e]]);
  } else {
    map = baseMap(el, [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], parseInt(el.dataset.zoom || "12", 10));
  }
  const layer = L.layerGroup().addTo(map);
  const status = document.getElementById("map-status");
  let seq = 0;
  const load = async () => {
    const b = map.getBounds();
    const clamp = (v, lo, hi) => Math.min(Math.max(v, lo), hi);
    const bbox = [clamp(b.getWest(), -180, 179.999), clamp(b.getSouth(), -85, 84.999), clamp(b.getEast(), -179.999, 180), clamp(b.getNorth(), -84.999, 85)].map((v) => v.toFixed(6)).join(",");
    const params = new URLSearchParams({ bbox, zoom: String(map.getZoom()), ...extraParams() });
    const mine = ++seq;
    const response = await fetch(`${el.dataset.api}?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const body = await response.json();
    if (mine !== seq) return;
    layer.clearLayers();
    if (!response.ok) { if (status) status.textContent = body.detail || say(el, "msgFailed", "The map could not load."); return; }
    let total = 0;
    for (const c of body.cells) { total += c.count; L.marker([c.lat, c.lon], { icon: countIcon(c.count), interactive: false }).addTo(layer); }
    for (const c of body.cameras) {
      total += 1;
      L.polygon(cone(c.lat, c.lon, c.direction_deg, c.fov_angle_deg, c.range_m), { weight: 1, fillOpacity: 0.2 }).addTo(layer);
      L.circleMarker([c.lat, c.lon], { radius: 6 }).bindPopup(textPopup(`${c.name} (${c.kind}, ${c.participation.replace(/_/g, " ")}, keeps ${c.retention_days} days)`)).addTo(layer);
    }
    if (status) status.textContent = total === 1 ? say(el, "msgOne", "1 camera in view.") : say(el, "msgMany", "{n} cameras in view.", total);
    el.dataset.loaded = String(seq);
  };
  map.on("moveend", load);
  load();
  return load;
}

// The optional incident area: a few clicks on the map, written to the hidden `area` field as
// a GeoJSON polygon. Hand-written rather than leaflet-draw: that package's last release (2018)
// predates Leaflet 1.9, and three buttons and a polygon are all the search needs.
function areaTool(map, field) {
  const bar = document.getElementById("area-tools");
  if (!field || !bar) return { drawing: () => false, add: () => {} };
  const status = document.getElementById("area-status");
  const draw = document.getElementById("area-draw");
  const finish = document.getElementById("area-finish");
  const clear = document.getElementById("area-clear");
  const shape = L.polygon([], { color: "#7b2cbf", weight: 2, fillOpacity: 0.15, interactive: false }).addTo(map);
  let points = [];
  let drawing = false;
  const show = (text) => { if (status) status.textContent = text; };
  const save = () => {
    if (points.length < 3) { field.value = ""; return; }
    const ring = points.map((p) => [Number(p.lng.toFixed(7)), Number(p.lat.toFixed(7))]);
    ring.push(ring[0]);
    field.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
  };
  const setDrawing = (on) => {
    drawing = on;
    draw.hidden = on;
    finish.hidden = !on;
    bar.dataset.drawing = on ? "1" : "";
  };
  if (field.value) {
    try {
      const ring = JSON.parse(field.value).coordinates[0].slice(0, -1);
      points = ring.map(([x, y]) => L.latLng(y, x));
      shape.setLatLngs(points);
      show(`Area of ${points.length} corners.`);
    } catch (e) { field.value = ""; }
  }
  draw.addEventListener("click", () => {
    points = [];
    shape.setLatLngs(points);
    field.value = "";
    setDrawing(true);
    show("Click the map at each corner of the area, then press Finish.");
  });
  finish.addEventListener("click", () => {
    if (points.length < 3) { show("An area needs at least 3 corners."); return; }
    setDrawing(false);
    save();
    show(`Area of ${points.length} corners.`);
  });
  clear.addEventListener("click", () => {
    points = [];
    shape.setLatLngs(points);
    field.value = "";
    setDrawing(false);
    show("No area.");
  });
  bar.hidden = false;
  return {
    drawing: () => drawing,
    add: (latlng) => {
      if (points.length >= 100) { show("At most 100 corners."); return; }
      points.push(latlng);
      shape.setLatLngs(points);
      show(`${points.length} corner${points.length === 1 ? "" : "s"}: keep clicking, then Finish.`);
    },
  };
}

function searchMap(el) {
  const lat = document.getElementById("id_latitude");
  const lon = document.getElementById("id_longitude");
  const map = baseMap(el, [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], 16);
  let pin = el.dataset.picked ? L.marker([parseFloat(lat.value), parseFloat(lon.value)]).addTo(map) : null;
  const area = areaTool(map, document.getElementById("id_area"));
  map.on("click", (e) => {
    if (area.drawing()) { area.add(e.latlng); return; }
    lat.value = e.latlng.lat.toFixed(7);
    lon.value = e.latlng.lng.toFixed(7);
    if (pin) pin.setLatLng(e.latlng); else pin = L.marker(e.latlng).addTo(map);
  });
  el.dataset.ready = "1";
  const hits = document.getElementById("search-hits");
  if (hits) {
    const colours = ["#2b7a3b", "#b7791f", "#5b6675"];
    for (const h of JSON.parse(hits.textContent)) {
      L.polygon(cone(h.lat, h.lon, h.direction_deg, h.fov_angle_deg, h.range_m), { color: colours[h.coverage], weight: 1, fillOpacity: 0.2 }).addTo(map);
      L.circleMarker([h.lat, h.lon], { radius: 5, color: colours[h.coverage] }).bindPopup(textPopup(h.name)).addTo(map);
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  presets();
  recordingHours();
  if (!window.L) return;
  const request = document.getElementById("request-map");
  if (request) requestMap(request);
  const owner = document.getElementById("camera-map");
  if (owner) ownerMap(owner);
  const pub = document.getElementById("public-map");
  if (pub) gridMap(pub, () => ({}));
  const staff = document.getElementById("agency-map");
  if (staff) {
    const form = document.getElementById("map-filters");
    const params = () => Object.fromEntries([...new FormData(form)].filter(([, v]) => v));
    const reload = gridMap(staff, params);
    form.addEventListener("change", reload);
  }
  const search = document.getElementById("search-map");
  if (search) searchMap(search);
});
