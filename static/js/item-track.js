// The camera's GPS track on the item's map, with a marker where the camera was at the moment
// of the video on screen: as it plays, and at once on a seek. Each position carries its place
// on the video's timeline (`video_seconds`, 0 being the first frame, pre-event buffer
// included); between two positions the marker moves in a straight line. The basemap comes
// from the shared module (static/src/basemap.js), the interpolation from track-position.js.
(() => {
  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  // The wall-clock time at `seconds` into the video, in the agency's zone with UTC beside it.
  function wallClock(startedMs, seconds, zone) {
    if (!Number.isFinite(startedMs)) return "";
    const at = new Date(startedMs + seconds * 1000);
    const time = (timeZone) =>
      new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }).format(at);
    try {
      return `${time(zone)} (${time("UTC")} UTC)`;
    } catch (e) {
      return `${time("UTC")} UTC`;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const el = document.getElementById("item-track-map");
    const data = document.getElementById("item-track");
    if (!el || !data || !window.L) return;
    const feature = JSON.parse(data.textContent).features[0];
    const coords = feature.geometry.coordinates;
    const offsets = feature.properties.video_seconds;
    const startedMs = Date.parse(feature.properties.video_started_at);
    const map = L.map(el);
    window.CanvassMap.basemap(map, el);
    const line = L.polyline(coords.map(([lon, lat]) => [lat, lon]), { color: "#1f6feb", weight: 4 }).addTo(map);
    const [lon0, lat0] = coords[0];
    const marker = L.circleMarker([lat0, lon0], { radius: 8, color: "#d1242f", weight: 3, fillOpacity: 0.9, className: "track-marker" }).addTo(map);
    map.fitBounds(line.getBounds().pad(0.2), { maxZoom: 18 });
    const status = document.getElementById("track-position");
    const video = document.getElementById("player");
    const follow = () => {
      // Without a video to follow, the marker stays at the first position.
      const seconds = video ? video.currentTime : offsets[0];
      const [lon, lat] = window.CanvassTrack.positionAt(seconds, offsets, coords);
      marker.setLatLng([lat, lon]);
      el.dataset.lat = lat.toFixed(7);
      el.dataset.lon = lon.toFixed(7);
      el.dataset.seconds = seconds.toFixed(3);
      if (status) {
        const when = wallClock(startedMs, seconds, el.dataset.zone);
        const moment = video ? `${clock(seconds)} into the video` : "First position";
        status.textContent = `${moment}${when ? `, ${when}` : ""}: ${lat.toFixed(6)}, ${lon.toFixed(6)}`;
      }
    };
    if (video) {
      for (const event of ["timeupdate", "seeking", "seeked", "loadedmetadata"]) {
        video.addEventListener(event, follow);
      }
    }
    follow();
    el.dataset.ready = "1";
  });
})();
