// The item's map pin. Tiles come only from the configured tile server.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("item-map");
  if (!el || !window.L) return;
  const at = [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)];
  const map = L.map(el).setView(at, 16);
  L.tileLayer(el.dataset.tiles, { attribution: el.dataset.attribution, maxZoom: 19 }).addTo(map);
  L.marker(at).addTo(map);
});
