// The case map: item locations, the incident (point and area) and linked cameras; and, for
// synchronized playback (static/src/syncplay.js), each body camera's path with a marker that
// follows the shared clock and each CCTV camera's cone, solid while its video plays.
// The basemap, outline and legend come from the shared module (static/src/basemap.js).
function syncLayers(map, layers) {
  const data = document.getElementById("case-playback");
  if (!data) return;
  const tracks = [];
  const cones = [];
  for (const video of JSON.parse(data.textContent)) {
    if (!video.start) continue;
    if (video.track) {
      const feature = video.track.features[0];
      const coords = feature.geometry.coordinates;
      const line = L.polyline(coords.map(([lon, lat]) => [lat, lon]), { color: "#1f6feb", weight: 4 });
      const [lon0, lat0] = coords[0];
      const marker = L.circleMarker([lat0, lon0], {
        radius: 8, color: "#d1242f", weight: 3, fillOpacity: 0.9, className: "sync-track-marker",
      });
      const label = document.createElement("span");
      label.textContent = `Exhibit ${video.exhibit}: ${video.label}`;
      marker.bindPopup(label);
      line.addTo(map);
      marker.addTo(map);
      layers.push(line, marker);
      tracks.push({ id: video.id, coords, offsets: feature.properties.video_seconds, marker });
    }
    if (video.camera && video.camera.cone) {
      const cone = L.geoJSON(video.camera.cone, {
        style: { color: "#8250df", weight: 2, fillOpacity: 0.08, className: "sync-cone" },
      });
      const label = document.createElement("span");
      label.textContent = `${video.camera.label}: exhibit ${video.exhibit}`;
      cone.bindPopup(label);
      cone.addTo(map);
      layers.push(cone);
      cones.push({ id: video.id, cone });
    }
  }
  if (!tracks.length && !cones.length) return;
  const el = map.getContainer();
  document.addEventListener("canvass:sync-clock", (event) => {
    const byId = new Map(event.detail.videos.map((v) => [v.id, v]));
    for (const t of tracks) {
      const v = byId.get(t.id);
      if (!v) continue;
      const [lon, lat] = window.CanvassTrack.positionAt(v.seconds, t.offsets, t.coords);
      t.marker.setLatLng([lat, lon]);
      const path = t.marker.getElement();
      if (path) {
        path.dataset.lat = lat.toFixed(7);
        path.dataset.lon = lon.toFixed(7);
      }
    }
    for (const c of cones) {
      const v = byId.get(c.id);
      const on = Boolean(v && (v.state === "playing" || v.state === "paused"));
      c.cone.setStyle({ fillOpacity: on ? 0.45 : 0.08 });
      c.cone.eachLayer((shape) => {
        const path = shape.getElement();
        if (path) path.dataset.on = on ? "1" : "0";
      });
    }
    el.dataset.syncMs = String(Math.round(event.detail.ms));
  });
  document.dispatchEvent(new CustomEvent("canvass:sync-ask"));
}


document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("case-map");
  if (!el || !window.L) return;
  const points = JSON.parse(document.getElementById("case-map-points").textContent);
  const area = JSON.parse(document.getElementById("case-map-area").textContent);
  const map = L.map(el);
  window.CanvassMap.basemap(map, el);
  const layers = [];
  for (const p of points) {
    const style = { item: "#1f6feb", incident: "#d1242f", camera: "#8250df" }[p.kind] || "#555";
    const marker = L.circleMarker([p.lat, p.lon], { radius: 7, color: style, weight: 2 });
    const label = document.createElement("span");
    if (p.url) {
      const a = document.createElement("a");
      a.href = p.url;
      a.textContent = p.label;
      label.append(a);
    } else {
      label.textContent = p.label;
    }
    marker.bindPopup(label);
    marker.addTo(map);
    layers.push(marker);
  }
  if (area) {
    const shape = L.geoJSON(JSON.parse(area), { style: { color: "#d1242f", weight: 1 } });
    shape.addTo(map);
    layers.push(shape);
  }
  syncLayers(map, layers);
  const bounds = L.featureGroup(layers).getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.3), { maxZoom: 17 });
  el.dataset.markers = String(points.length);
});
