// The case map: item locations, the incident (point and area) and linked cameras.
// The basemap, outline and legend come from the shared module (static/src/basemap.js).
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
  const bounds = L.featureGroup(layers).getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.3), { maxZoom: 17 });
  el.dataset.markers = String(points.length);
});
