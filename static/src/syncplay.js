// Synchronized playback on the case page: every video of the case on one shared clock, by
// capture time (hand corrections included: the server sends the corrected time).
//
// The shared clock is the master; each player follows it. A player whose video has not
// started at that moment waits at its first frame, one whose video is over stays at its
// last, and the others play at the clock's position: a small drift is closed by playing a
// little faster or slower, a large one by seeking. While a playing video waits for data the
// clock holds, so nobody runs ahead. Play, pause or seek in any player's own controls and the
// shared clock (and so every other player) follows. The clock is also announced to the case
// map ("canvass:sync-clock" on document), which moves body-camera markers and lights CCTV cones.
import Hls from "hls.js/light";

const BIG_DRIFT_PLAYING = 0.25; // seconds: beyond this a playing video seeks instead of catching up
const BIG_DRIFT_PAUSED = 0.03; // seconds: a paused video is put exactly where the clock says
const LAST_FRAME = 0.1; // seconds before the end where an ended video rests
const SAME_SEEK = 0.05; // seconds: a seek this close to the one we asked for is ours

function clockText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// "2026-11-03 09:00:06": the wall clock in `timeZone` at `at`.
function zoned(at, timeZone) {
  const parts = {};
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  for (const p of format.formatToParts(at)) parts[p.type] = p.value;
  return [`${parts.year}-${parts.month}-${parts.day}`, `${parts.hour}:${parts.minute}:${parts.second}`];
}

// The moment as the server writes it (portal_time's local_and_utc_seconds): the agency's
// zone with UTC beside it, the UTC date only when it is another day.
function wallClock(ms, zone) {
  const at = new Date(ms);
  const [utcDay, utcTime] = zoned(at, "UTC");
  if (zone === "UTC") return `${utcDay} ${utcTime} UTC`;
  try {
    const [day, time] = zoned(at, zone);
    return `${day} ${time} ${zone} (${day === utcDay ? "" : `${utcDay} `}${utcTime} UTC)`;
  } catch (e) {
    return `${utcDay} ${utcTime} UTC`;
  }
}

// Attach the HLS playlist; resolves once the playlist is loaded, so the next player asks for
// its own only then (each playlist fetch is recorded in the session that segments are served to).
function attach(video, url, onProblem) {
  return new Promise((resolve) => {
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.addEventListener("loadedmetadata", resolve, { once: true });
      video.addEventListener("error", () => {
        onProblem(video.error ? video.error.message || `media error ${video.error.code}` : "error");
        resolve();
      }, { once: true });
      video.src = url;
    } else if (Hls.isSupported()) {
      const hls = new Hls();
      hls.on(Hls.Events.MANIFEST_PARSED, () => resolve());
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.fatal) {
          onProblem(`${data.type}: ${data.details}`);
          resolve();
        }
      });
      hls.loadSource(url);
      hls.attachMedia(video);
    } else {
      onProblem("this browser cannot play HLS");
      resolve();
    }
  });
}

class Player {
  constructor(video, screen) {
    this.id = video.id;
    this.startMs = Date.parse(video.start);
    this.duration = video.duration;
    this.url = video.hls;
    this.el = document.createElement("video");
    this.el.controls = true;
    this.el.muted = true;
    this.el.playsInline = true;
    this.el.preload = "auto";
    this.el.className = "sync-video";
    this.el.dataset.item = video.id;
    this.el.dataset.startMs = String(this.startMs);
    this.el.setAttribute("aria-label", `Exhibit ${video.exhibit}`);
    this.status = document.createElement("p");
    this.status.className = "sync-status";
    this.status.setAttribute("aria-live", "off");
    screen.append(this.el, this.status);
    this.expectSeek = null;
    this.ready = false;
    this.ourPause = false;
    this.playPending = false;
    this.state = "loading";
    this.local = 0;
  }

  problem(message) {
    const note = document.createElement("p");
    note.className = "error player-error";
    note.setAttribute("role", "alert");
    note.textContent = `This video could not be played (${message}). Reload the page to try again.`;
    this.status.after(note);
  }

  seekTo(seconds) {
    this.expectSeek = seconds;
    this.el.currentTime = seconds;
  }

  pause() {
    if (this.el.paused) return;
    this.ourPause = true;
    this.el.pause();
  }

  play() {
    if (!this.el.paused || this.playPending) return;
    this.playPending = true;
    this.el
      .play()
      .catch(() => {}) // interrupted by a pause or a seek: the next tick asks again
      .finally(() => {
        this.playPending = false;
      });
  }

  // Put the player where the shared clock `ms` says; `running` when the clock is moving.
  follow(ms, running) {
    const local = (ms - this.startMs) / 1000;
    this.local = local;
    const v = this.el;
    // The stream may end a little before the length the original was probed at.
    const end = Number.isFinite(v.duration) && v.duration > 0 ? Math.min(v.duration, this.duration) : this.duration;
    if (local < 0 || local >= end) {
      this.state = local < 0 ? "waiting" : "ended";
      this.pause();
      v.playbackRate = 1;
      // An ended video shows its last frame; a seek to the very end trips Chromium's HLS demuxer.
      const edge = local < 0 ? 0 : Math.max(0, end - LAST_FRAME);
      if (!v.seeking && v.readyState >= 1 && Math.abs(v.currentTime - edge) > LAST_FRAME) this.seekTo(edge);
      this.status.textContent =
        local < 0
          ? `Waiting: starts in ${clockText(-local)}`
          : `Ended ${clockText(local - end)} ago`;
      return;
    }
    this.state = running ? "playing" : "paused";
    this.status.textContent = `${running ? "Playing" : "Paused"} at ${clockText(local)} of ${clockText(this.duration)}`;
    if (v.readyState < 1 || v.seeking) return;
    const drift = v.currentTime - local;
    if (Math.abs(drift) > (running ? BIG_DRIFT_PLAYING : BIG_DRIFT_PAUSED)) {
      v.playbackRate = 1;
      this.seekTo(local);
    } else if (running) {
      v.playbackRate = Math.abs(drift) < 0.02 ? 1 : Math.min(1.25, Math.max(0.75, 1 - 2 * drift));
    }
    if (running) this.play();
    else this.pause();
  }

  // Holds the shared clock: it should be playing but has no data to play yet.
  starving() {
    const v = this.el;
    return (this.state === "playing" || this.state === "paused") && !v.ended && (v.seeking || v.readyState < 3);
  }
}

function start(data, list) {
  const videos = JSON.parse(data.textContent).filter((v) => v.start && v.duration > 0);
  if (!videos.length) return;
  const controls = document.getElementById("sync-controls");
  const playButton = document.getElementById("sync-play");
  const slider = document.getElementById("sync-seek");
  const output = document.getElementById("sync-clock");
  const zone = output.dataset.zone || "UTC";
  const players = videos.map(
    (v) => new Player(v, list.querySelector(`li[data-item="${v.id}"] .sync-screen`)),
  );
  const first = Math.min(...players.map((p) => p.startMs));
  const last = Math.max(...players.map((p) => p.startMs + p.duration * 1000));
  slider.max = ((last - first) / 1000).toFixed(1);
  controls.hidden = false;

  let playing = false;
  let clockMs = first;
  let anchor = performance.now();
  const now = () => (playing ? clockMs + (performance.now() - anchor) : clockMs);
  const setClock = (ms) => {
    clockMs = Math.min(Math.max(ms, first), last);
    anchor = performance.now();
  };
  const playAll = () => {
    if (now() >= last) setClock(first);
    else setClock(now());
    playing = true;
    playButton.textContent = "Pause all";
  };
  const pauseAll = () => {
    setClock(now());
    playing = false;
    playButton.textContent = "Play all";
  };

  playButton.addEventListener("click", () => (playing ? pauseAll() : playAll()));
  slider.addEventListener("input", () => setClock(first + Number(slider.value) * 1000));

  for (const p of players) {
    p.el.addEventListener("seeking", () => {
      const ours = p.expectSeek !== null && Math.abs(p.el.currentTime - p.expectSeek) < SAME_SEEK;
      p.expectSeek = null;
      const at = p.startMs + p.el.currentTime * 1000;
      // Sought in this player's own controls: the shared clock (and every player) follows.
      // While playing, a seek to about where the clock already is (the player's own loader
      // stepping over a gap) moves nothing, nor does one before the playlist is loaded.
      if (ours || !p.ready) return;
      if (!playing || Math.abs(at - now()) > BIG_DRIFT_PLAYING * 1000) setClock(at);
    });
    p.el.addEventListener("play", () => {
      if (!playing) {
        setClock(p.startMs + p.el.currentTime * 1000);
        playAll();
      }
    });
    p.el.addEventListener("pause", () => {
      if (p.ourPause) {
        p.ourPause = false;
        return;
      }
      if (playing && !p.el.ended) pauseAll();
    });
  }

  let announced = "";
  let held = false;
  // The map may set up after the first announcement: it asks, and hears the clock again.
  document.addEventListener("canvass:sync-ask", () => {
    announced = "";
  });
  const tick = () => {
    if (playing && now() >= last) pauseAll();
    // A video that should play but has no data yet holds the clock for everyone.
    const starving = playing && players.some((p) => p.starving());
    if (starving) {
      // Freeze where it got to; from then on only the anchor moves.
      if (!held) clockMs = now();
      anchor = performance.now();
    }
    held = starving;
    const ms = now();
    const running = playing && !starving;
    for (const p of players) p.follow(ms, running);
    const seconds = (ms - first) / 1000;
    if (document.activeElement !== slider) slider.value = seconds.toFixed(1);
    const text = wallClock(ms, zone);
    if (output.textContent !== text) output.textContent = text;
    output.dataset.ms = String(Math.round(ms));
    const state = `${Math.round(ms)}|${players.map((p) => p.state).join(",")}`;
    if (state !== announced) {
      announced = state;
      document.dispatchEvent(
        new CustomEvent("canvass:sync-clock", {
          detail: {
            ms,
            videos: players.map((p) => ({ id: p.id, seconds: p.local, state: p.state })),
          },
        }),
      );
    }
    requestAnimationFrame(tick);
  };

  // One playlist at a time (see attach), then the clock starts ticking.
  players
    .reduce(
      (before, p) =>
        before.then(() =>
          attach(p.el, p.url, (m) => p.problem(m)).then(() => {
            p.ready = true;
          }),
        ),
      Promise.resolve(),
    )
    .then(() => {
      list.dataset.ready = "1";
    });
  requestAnimationFrame(tick);
}

const data = document.getElementById("case-playback");
const list = document.getElementById("sync-items");
if (data && list) start(data, list);
