// The item's map pin. The basemap comes from the shared module (static/src/basemap.js).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("item-map");
  if (!el || !window.L) return;
  const at = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
  const map = L.map(el).setView(at, 16);
  window.CanvassMap.basemap(map, el);
  L.marker(at).addTo(map);
});
