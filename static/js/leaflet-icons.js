// Leaflet's default pin images by their real static URLs (templates/includes/leaflet_js.html).
// Leaflet otherwise guesses their folder from leaflet.css's URL, and with collectstatic's hashed
// names (marker-icon.<hash>.png) that guess names files that do not exist: every pin broke.
(() => {
  const script = document.currentScript;
  if (!window.L || !script) return;
  // A string imagePath stops the guessing; empty, because the URLs below are complete.
  L.Icon.Default.imagePath = "";
  L.Icon.Default.mergeOptions({
    iconUrl: script.dataset.icon,
    iconRetinaUrl: script.dataset.icon2x,
    shadowUrl: script.dataset.shadow,
  });
})();
