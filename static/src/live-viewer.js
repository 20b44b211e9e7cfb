// The live viewer page (/staff/live/views/<id>/): HLS from the relay through hls.js (native HLS
// where the browser has it), the session's status from Django every 2 s, a renewal while the
// page is open, and Stop. Text only ever goes in as text nodes; the page's CSP allows no inline
// script. States: connecting, live, ended (the view ended, was revoked or expired), refused
// (the relay said 403, or a CCTV owner's policy refuses now), and for a CCTV camera the relay
// manager's unreachable, not_h264 and wrong_credentials.
import Hls from "hls.js/light";

const root = document.getElementById("live-viewer");
const video = document.getElementById("live-video");
const statusText = document.getElementById("live-status");
const detailText = document.getElementById("live-detail");
const stopButton = document.getElementById("live-stop");
const csrf = document.querySelector("#live-csrf input[name=csrfmiddlewaretoken]");

let hls = null;
let finished = false;
let lastTime = -1;
const timers = [];

function setState(state, detail) {
  root.dataset.state = state;
  statusText.textContent = state;
  if (detail !== undefined) detailText.textContent = detail;
}

function stopPlayback() {
  finished = true;
  timers.forEach((t) => clearInterval(t));
  if (hls) {
    hls.destroy();
    hls = null;
  }
  video.pause();
  video.removeAttribute("src");
  video.load();
  if (stopButton) stopButton.disabled = true;
}

function post(url) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrf ? csrf.value : "", Accept: "application/json" },
  });
}

async function checkStatus() {
  if (finished) return;
  try {
    const response = await fetch(root.dataset.statusUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return;
    const status = await response.json();
    if (status.state === "ended" || status.state === "refused") {
      // Ended, revoked, expired; or (a CCTV camera) its owner's policy refuses now.
      stopPlayback();
      setState(status.state, status.detail);
    } else if (status.state !== "connecting" && status.state !== "live") {
      // The relay manager's word on a CCTV camera: unreachable, not_h264, wrong_credentials.
      setState(status.state, status.detail);
    } else if (root.dataset.state !== "live") {
      setState("connecting", status.detail);
    }
  } catch (error) {
    // The network blinked; the next poll tries again.
  }
}

async function refused() {
  if (finished) return;
  stopPlayback();
  setState("refused", "The relay refused this view.");
  finished = false;
  await checkStatus(); // an ended (revoked, expired) view says so rather than "refused"
  finished = true;
}

function onHlsError(_event, data) {
  const code = data.response && data.response.code;
  if (code === 403) {
    refused();
    return;
  }
  if (!data.fatal || finished) return;
  // Not there yet (404 before the first segment), or the relay blinked: try again shortly.
  if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
    hls.recoverMediaError();
  } else {
    setTimeout(() => {
      if (hls && !finished) hls.loadSource(root.dataset.hls);
    }, 1000);
  }
}

function start() {
  const url = root.dataset.hls;
  if (Hls.isSupported()) {
    hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 0 });
    hls.on(Hls.Events.ERROR, onHlsError);
    hls.loadSource(url);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.addEventListener("error", () => refused());
    video.src = url;
  } else {
    setState("refused", "This browser cannot play live video.");
    return;
  }
  video.play().catch(() => {});
  video.addEventListener("timeupdate", () => {
    if (finished) return;
    if (video.currentTime > lastTime && lastTime >= 0 && root.dataset.state !== "live") {
      setState("live", "Playing.");
    }
    lastTime = video.currentTime;
  });
  timers.push(setInterval(checkStatus, 2000));
  timers.push(
    setInterval(async () => {
      const response = await post(root.dataset.renewUrl).catch(() => null);
      if (response && response.status === 409) checkStatus();
    }, 1000 * Number(root.dataset.renewSeconds || 60)),
  );
  if (stopButton) {
    stopButton.addEventListener("click", async () => {
      stopPlayback();
      await post(root.dataset.endUrl).catch(() => null);
      setState("ended", "You stopped watching.");
    });
  }
  window.addEventListener("pagehide", () => {
    if (finished) return;
    const form = new FormData();
    if (csrf) form.append("csrfmiddlewaretoken", csrf.value);
    navigator.sendBeacon(root.dataset.endUrl, form);
  });
}

if (root && video && root.dataset.hls) start();
