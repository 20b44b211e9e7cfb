// Evidence playback: HLS where the browser plays it natively (Safari, iOS, recent Chrome),
// hls.js over Media Source Extensions elsewhere, and the MP4 proxy when neither works.
// The light build of hls.js is enough: our streams have no DRM, subtitles or alternate audio.
import Hls from "hls.js/light";

function showProblem(video, message) {
  const note = document.createElement("p");
  note.className = "error player-error";
  note.setAttribute("role", "alert");
  note.textContent = message;
  video.after(note);
}

function showPlaybackFailed(video, cause) {
  showProblem(video, `The video could not be played (${cause}). Reload the page to try again.`);
}

function playFrom(video, url) {
  video.addEventListener(
    "error",
    () => showPlaybackFailed(video, video.error.message || `media error ${video.error.code}`),
    { once: true },
  );
  video.src = url;
}

function playWithHlsJs(video) {
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (data.fatal) showPlaybackFailed(video, `${data.type}: ${data.details}`);
  });
  hls.loadSource(video.dataset.hls);
  hls.attachMedia(video);
}

function attach(video) {
  if (video.canPlayType("application/vnd.apple.mpegurl")) {
    playFrom(video, video.dataset.hls);
  } else if (Hls.isSupported()) {
    playWithHlsJs(video);
  } else if (video.dataset.mp4) {
    playFrom(video, video.dataset.mp4);
  } else {
    showProblem(video, "This browser cannot play this video; download the original to watch it.");
  }
}

// The item page has one player; a tip's page shows each of its videos inline (data-player).
document.querySelectorAll("video#player[data-hls], video[data-player][data-hls]").forEach(attach);
