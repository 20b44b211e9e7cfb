// The tip inbox map: one pin per tip on the page. The basemap comes from static/src/basemap.js.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("tips-map");
  const data = document.getElementById("tips-points");
  if (!el || !data || !window.L) return;
  const points = JSON.parse(data.textContent);
  const map = L.map(el);
  window.CanvassMap.basemap(map, el);
  const markers = points.map((p) => {
    const link = document.createElement("a");
    link.href = `${p.ref}/`;
    link.textContent = p.label;
    return L.marker([p.lat, p.lon]).bindPopup(link).addTo(map);
  });
  map.fitBounds(L.featureGroup(markers).getBounds().pad(0.2), { maxZoom: 16 });
});
