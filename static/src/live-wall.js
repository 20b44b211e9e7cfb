// The incident live wall (/staff/live/incidents/<id>/wall/): a map of the incident and its
// cameras, and a tile per camera. Each permitted tile plays its own view's HLS through
// hls.js, polls its status (connecting, live, unreachable, not_h264, wrong_credentials,
// refused, ended) every 3 s and renews its view every minute. A tap on a tile's name
// enlarges it (one column on a phone). Text goes in as text nodes only; no inline script.
import Hls from "hls.js/light";

const WORDS = {
  connecting: "connecting",
  live: "live",
  unreachable: "unreachable",
  not_h264: "not H.264",
  wrong_credentials: "wrong credentials",
  refused: "not permitted",
  ended: "ended",
  stopped: "connecting",
};
const csrf = document.querySelector("#wall-csrf input[name=csrfmiddlewaretoken]");

function setState(tile, state, detail) {
  tile.dataset.state = state;
  tile.querySelector(".tile-state").textContent = WORDS[state] || state;
  if (detail !== undefined) tile.querySelector(".tile-detail").textContent = detail;
}

function startTile(tile) {
  const video = tile.querySelector("video");
  let hls = null;
  let done = false;
  let lastTime = -1;
  const stop = () => {
    done = true;
    if (hls) hls.destroy();
    hls = null;
    video.removeAttribute("src");
    video.load();
  };
  const check = async () => {
    if (done) return;
    try {
      const r = await fetch(tile.dataset.statusUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!r.ok) return;
      const s = await r.json();
      if (s.state === "ended" || s.state === "refused") {
        stop();
        setState(tile, s.state, s.detail);
      } else if (s.state !== "connecting" && s.state !== "live") {
        setState(tile, s.state, s.detail);
      } else if (tile.dataset.state !== "live") {
        setState(tile, "connecting", s.detail);
      }
    } catch (e) {
      // The next poll tries again.
    }
  };
  if (Hls.isSupported()) {
    hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 0 });
    hls.on(Hls.Events.ERROR, (_e, data) => {
      const code = data.response && data.response.code;
      if (code === 403) {
        stop();
        setState(tile, "refused", "The relay refused this view.");
        done = false;
        check().then(() => {
          done = true;
        });
        return;
      }
      if (!data.fatal || done) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else setTimeout(() => hls && !done && hls.loadSource(tile.dataset.hls), 1000);
    });
    hls.loadSource(tile.dataset.hls);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = tile.dataset.hls;
  }
  video.play().catch(() => {});
  video.addEventListener("timeupdate", () => {
    if (done) return;
    if (video.currentTime > lastTime && lastTime >= 0 && tile.dataset.state !== "live") {
      setState(tile, "live", "Playing.");
    }
    lastTime = video.currentTime;
  });
  setInterval(check, 3000);
  check();
  setInterval(() => {
    if (done) return;
    fetch(tile.dataset.renewUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf ? csrf.value : "", Accept: "application/json" },
    }).catch(() => {});
  }, 60000);
}

function drawMap() {
  const el = document.getElementById("wall-map");
  const data = document.getElementById("wall-points");
  if (!el || !data || !window.L) return;
  const points = JSON.parse(data.textContent);
  const map = L.map(el);
  window.CanvassMap.basemap(map, el);
  const colours = { incident: "#d1242f", camera: "#8250df", item: "#1f6feb" };
  const layers = points.map((p) => {
    const marker = L.circleMarker([p.lat, p.lon], {
      radius: 7,
      color: colours[p.kind] || "#555",
      weight: 2,
    });
    const label = document.createElement("span");
    label.textContent = p.label;
    marker.bindPopup(label);
    marker.addTo(map);
    return marker;
  });
  const bounds = L.featureGroup(layers).getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.3), { maxZoom: 18 });
  el.dataset.markers = String(points.length);
}

document.querySelectorAll("#live-wall .tile").forEach((tile) => {
  const button = tile.querySelector(".tile-enlarge");
  button.addEventListener("click", () => {
    const enlarged = tile.classList.toggle("enlarged");
    button.setAttribute("aria-expanded", String(enlarged));
  });
  if (tile.dataset.hls) startTile(tile);
});
if (document.readyState === "complete") drawMap();
else window.addEventListener("load", drawMap);
