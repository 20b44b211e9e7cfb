// The operations page (templates/devices/operations.html): open alerts and recording officers'
// last positions, kept current by the Server-Sent Events stream of devices/ops_views.py.
// Every snapshot rebuilds the state (one arrives on each connect, so nothing is missed across a
// reconnect); events apply idempotently (the same one may come twice around a reconnect).
// Everything shown is built from text nodes: names and labels are user text, never HTML.
(() => {
  const root = document.getElementById("operations");
  if (!root) return;
  const zone = root.dataset.zone || "UTC";
  const highList = document.getElementById("ops-high");
  const activityList = document.getElementById("ops-activity");
  const officersList = document.getElementById("ops-officers");
  const connection = document.getElementById("ops-connection");
  const soundButton = document.getElementById("ops-sound");
  const soundBlocked = document.getElementById("ops-sound-blocked");
  const mapEl = document.getElementById("ops-map");
  const csrf = document.querySelector("#ops-csrf input[name=csrfmiddlewaretoken]").value;
  const ZERO_ID = "00000000-0000-0000-0000-000000000000";

  const alerts = new Map(); // id -> {alert, timer, circle}
  const locations = new Map(); // device id -> {location, marker}
  let firstSnapshot = true;

  root.querySelectorAll(".js-only").forEach((el) => { el.hidden = false; });

  // --- times: the agency's wall clock with UTC beside it (portal_time.local_and_utc) -------

  function parts(date, timeZone) {
    const format = new Intl.DateTimeFormat("en-CA", {
      timeZone, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    const p = Object.fromEntries(format.formatToParts(date).map((x) => [x.type, x.value]));
    return { day: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
  }

  function localAndUtc(iso) {
    const date = new Date(iso);
    const utc = parts(date, "UTC");
    if (zone === "UTC") return `${utc.day} ${utc.time} UTC`;
    const local = parts(date, zone);
    const day = local.day === utc.day ? "" : `${utc.day} `;
    return `${local.day} ${local.time} ${zone} (${day}${utc.time} UTC)`;
  }

  // --- the map ---------------------------------------------------------------------------

  let map = null;
  let fitted = false;
  if (mapEl && window.L) {
    map = L.map(mapEl).setView([20, 0], 2);
    window.CanvassMap.basemap(map, mapEl, { fit: "area" });
  }

  function showOnMap(lat, lon) {
    if (!map || lat === null || lon === null) return;
    mapEl.scrollIntoView({ block: "center" });
    map.flyTo([lat, lon], 16);
  }

  function fitOnce() {
    if (!map || fitted) return;
    const points = [...locations.values()].map((l) => [l.location.lat, l.location.lon]);
    if (!points.length) return;
    fitted = true;
    map.fitBounds(L.latLngBounds(points).pad(0.3), { maxZoom: 16 });
  }

  function countMarkers() {
    if (mapEl) mapEl.dataset.markers = String(locations.size);
  }

  // --- recording officers -----------------------------------------------------------------

  function text(tag, value, className) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (className) el.className = className;
    return el;
  }

  function officerLine(location) {
    return `${location.officer || "Officer unknown"} · Unit: ${location.unit || "—"} · Camera: ${location.serial}`;
  }

  function putLocation(location) {
    if (location.lat === null || location.lon === null) return;
    let entry = locations.get(location.device);
    const popup = document.createElement("span");
    popup.append(text("strong", officerLine(location)), document.createElement("br"),
      text("span", `Last position ${localAndUtc(location.at)}`));
    if (!entry) {
      entry = { location, marker: null, item: document.createElement("li") };
      entry.item.dataset.device = location.device;
      officersList.append(entry.item);
      if (map) {
        entry.marker = L.circleMarker([location.lat, location.lon], {
          radius: 9, color: "#1d4e89", weight: 3, fillOpacity: 0.6,
        }).addTo(map);
      }
      locations.set(location.device, entry);
    }
    entry.location = location;
    if (entry.marker) {
      entry.marker.setLatLng([location.lat, location.lon]);
      entry.marker.bindPopup(popup);
    }
    const show = text("button", "Show on map", "link");
    show.type = "button";
    show.addEventListener("click", () => showOnMap(entry.location.lat, entry.location.lon));
    entry.item.replaceChildren(text("span", `${officerLine(location)} · ${localAndUtc(location.at)} `), show);
    countMarkers();
    fitOnce();
  }

  function dropLocation(device) {
    const entry = locations.get(device);
    if (!entry) return;
    if (entry.marker) entry.marker.remove();
    entry.item.remove();
    locations.delete(device);
    countMarkers();
  }

  // --- alerts ---------------------------------------------------------------------------

  function alertPlace(alert) {
    if (alert.lat !== null && alert.lon !== null) return [alert.lat, alert.lon];
    for (const { location } of locations.values()) {
      if (alert.device && location.serial === alert.device) return [location.lat, location.lon];
    }
    return null;
  }

  function alertItem(alert) {
    const li = document.createElement("li");
    li.className = `alert alert-${alert.priority}`;
    li.dataset.alertId = alert.id;
    li.dataset.built = "js";
    const title = document.createElement("p");
    title.className = "alert-title";
    title.append(text("strong", alert.label), document.createTextNode(` · ${localAndUtc(alert.raised_at)}`));
    const who = text("p",
      `Officer: ${alert.officer || "unknown"} · Unit: ${alert.unit || "—"} · Camera: ${alert.device || "—"}`,
      "alert-who");
    const show = text("button", "Show on map", "secondary");
    show.type = "button";
    show.className = "secondary show-on-map";
    show.addEventListener("click", () => {
      const place = alertPlace(alerts.get(alert.id)?.alert || alert);
      if (place) showOnMap(place[0], place[1]);
      else note.textContent = "No position known: the officer's camera is not recording.";
    });
    const note = text("p", "", "help");
    note.setAttribute("role", "status");

    const form = document.createElement("form");
    form.method = "post";
    form.className = "alert-close";
    form.action = root.dataset.closeUrl.replace(ZERO_ID, alert.id);
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrf;
    const field = document.createElement("div");
    field.className = "field";
    const label = text("label", "Reason");
    const input = document.createElement("input");
    input.type = "text";
    input.name = "reason";
    input.id = `reason-${alert.id}`;
    input.maxLength = 500;
    input.required = true;
    label.htmlFor = input.id;
    field.append(label, input);
    const resolve = text("button", "Resolve");
    resolve.type = "submit";
    resolve.name = "state";
    resolve.value = "resolved";
    const falseAlarm = text("button", "Mark false", "secondary");
    falseAlarm.type = "submit";
    falseAlarm.name = "state";
    falseAlarm.value = "false";
    form.append(token, field, resolve, document.createTextNode(" "), falseAlarm);
    li.append(title, who, show, note, form);
    return li;
  }

  function updateEmpty() {
    document.getElementById("ops-high-empty").hidden = highList.children.length > 0;
    document.getElementById("ops-activity-empty").hidden = activityList.children.length > 0;
  }

  function putAlert(alert, { announce }) {
    const known = alerts.get(alert.id);
    const existing = root.querySelector(`li[data-alert-id="${CSS.escape(alert.id)}"]`);
    if (known) {
      known.alert = alert;
      return;
    }
    // A server-drawn item (the page as it opened) is swapped for one with the map button;
    // one this script drew is kept, with whatever reason someone is typing into it.
    const item = alertItem(alert);
    if (existing) existing.replaceWith(item);
    else (alert.priority === "high" ? highList : activityList).prepend(item);
    const entry = { alert, timer: null, circle: null };
    const left = new Date(alert.expires_at).getTime() - Date.now();
    entry.timer = setTimeout(() => dropAlert(alert.id), Math.max(0, Math.min(left, 2 ** 31 - 1)));
    if (map && alert.lat !== null && alert.lon !== null) {
      entry.circle = L.circleMarker([alert.lat, alert.lon], {
        radius: 16, color: "#c62828", weight: 3, fill: false,
      }).addTo(map);
      entry.circle.bindPopup(text("strong", alert.label));
    }
    alerts.set(alert.id, entry);
    updateEmpty();
    if (announce && alert.priority === "high") beep();
  }

  function dropAlert(id) {
    const entry = alerts.get(id);
    if (entry) {
      clearTimeout(entry.timer);
      if (entry.circle) entry.circle.remove();
      alerts.delete(id);
    }
    root.querySelectorAll(`li[data-alert-id="${CSS.escape(id)}"]`).forEach((li) => li.remove());
    updateEmpty();
  }

  // Alerts expire four hours after they were raised; a sleeping laptop's timers run late.
  setInterval(() => {
    const now = Date.now();
    for (const [id, { alert }] of alerts) {
      if (new Date(alert.expires_at).getTime() <= now) dropAlert(id);
    }
  }, 30_000);

  // Closing: the reason and the button pressed, posted for JSON; the push removes it for
  // everyone else. Without this script the same form posts and the page comes back.
  root.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains("alert-close")) return;
    event.preventDefault();
    const data = new FormData(form, event.submitter);
    form.querySelectorAll(".error").forEach((el) => el.remove());
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    let message = "";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) {
        dropAlert(form.closest("li").dataset.alertId);
        return;
      }
      const body = response.headers.get("Content-Type")?.includes("json") ? await response.json() : {};
      message = Object.values(body.errors || {}).flat().join(" ")
        || `Not closed (the server answered ${response.status}). Reload the page and try again.`;
    } catch {
      message = "Not closed: the server could not be reached. Try again.";
    }
    buttons.forEach((b) => { b.disabled = false; });
    const error = text("p", message, "error");
    error.setAttribute("role", "alert");
    form.append(error);
  });

  // --- sound ------------------------------------------------------------------------------
  // A beep made with the Web Audio API (no audio file). Browsers keep audio shut until the
  // person presses something on the page, hence the button and the notice.

  let audio = null;
  let soundOn = localStorage.getItem("canvass-ops-sound") === "on";

  function showSound() {
    soundButton.textContent = soundOn ? "Sound on" : "Sound off";
    soundButton.setAttribute("aria-pressed", String(soundOn));
    soundBlocked.hidden = !soundOn || (audio !== null && audio.state === "running");
  }

  function unlock() {
    if (!soundOn) return;
    if (!audio) audio = new AudioContext();
    if (audio.state !== "running") audio.resume().then(showSound, showSound);
    showSound();
  }

  function beep() {
    if (!soundOn || !audio || audio.state !== "running") {
      showSound();
      return;
    }
    const start = audio.currentTime;
    for (const offset of [0, 0.3]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.type = "square";
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, start + offset);
      gain.gain.setValueAtTime(0, start + offset + 0.2);
      tone.connect(gain).connect(audio.destination);
      tone.start(start + offset);
      tone.stop(start + offset + 0.22);
    }
    root.dataset.sounds = String(Number(root.dataset.sounds) + 1);
  }

  soundButton.addEventListener("click", () => {
    soundOn = !soundOn;
    localStorage.setItem("canvass-ops-sound", soundOn ? "on" : "off");
    unlock();
    showSound();
  });
  for (const kind of ["pointerdown", "keydown"]) document.addEventListener(kind, unlock);
  showSound();

  // --- the stream -----------------------------------------------------------------------

  function setState(state, label) {
    root.dataset.state = state;
    connection.textContent = label;
  }

  function applySnapshot(snapshot) {
    const liveAlerts = new Set(snapshot.alerts.map((a) => a.id));
    for (const id of [...alerts.keys()]) if (!liveAlerts.has(id)) dropAlert(id);
    // Server-drawn items of alerts that closed before the stream opened.
    root.querySelectorAll("li[data-alert-id]").forEach((li) => {
      if (!liveAlerts.has(li.dataset.alertId)) li.remove();
    });
    const liveDevices = new Set(snapshot.locations.map((l) => l.device));
    for (const device of [...locations.keys()]) if (!liveDevices.has(device)) dropLocation(device);
    snapshot.locations.forEach(putLocation);
    // Oldest first, each put on top: the newest ends up first.
    [...snapshot.alerts].reverse().forEach((a) => putAlert(a, { announce: !firstSnapshot }));
    firstSnapshot = false;
    updateEmpty();
  }

  const handlers = {
    snapshot: applySnapshot,
    alert: (event) => putAlert(event.alert, { announce: true }),
    alert_closed: (event) => dropAlert(event.id),
    location: (event) => putLocation(event.location),
    location_gone: (event) => dropLocation(event.device),
  };

  const source = new EventSource(root.dataset.events);
  source.addEventListener("open", () => setState("live", "live"));
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setState("closed", "stopped: reload the page (you may need to sign in again)");
    } else {
      setState("reconnecting", "reconnecting…");
    }
  });
  // The server ended the stream for good (signed out, deactivated, no longer allowed).
  source.addEventListener("ended", () => {
    source.close();
    setState("closed", "stopped: reload the page (you may need to sign in again)");
  });
  source.addEventListener("message", (message) => {
    const event = JSON.parse(message.data);
    const handle = handlers[event.type];
    if (handle) handle(event);
  });
})();
