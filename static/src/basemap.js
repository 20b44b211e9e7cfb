// The one place every map gets what lies under its data (templates/includes/leaflet_js.html):
// the agency's basemap, its jurisdiction's outline, the legend, address search and a search
// radius. The basemap is the agency's PMTiles file, served by Canvass with HTTP Range
// (portal/map_views.py) and drawn on canvas by protomaps-leaflet, or the operator's own raster
// tiles; settings come from the page's #map-config (portal/maps.py). Maps call
// window.CanvassMap.basemap(map, el) right after L.map(el). Leaflet is window.L.
import { leafletLayer } from "protomaps-leaflet";
import "./basemap.css";

const configEl = document.getElementById("map-config");
const config = configEl ? JSON.parse(configEl.textContent) : { basemap: {}, outlines: [], words: {} };
const words = config.words || {};

function basemapLayer() {
  const b = config.basemap || {};
  if (b.kind === "pmtiles") {
    const lang = (document.documentElement.lang || "en").slice(0, 2);
    return leafletLayer({
      url: b.url,
      flavor: "light",
      lang,
      maxDataZoom: b.maxDataZoom,
      maxZoom: b.maxZoom,
      attribution: b.attribution || "",
    });
  }
  if (b.kind === "raster") return L.tileLayer(b.url, { attribution: b.attribution || "", maxZoom: b.maxZoom });
  return null;
}

// In a pane of its own, under the map's shapes (overlayPane is 400): the outline is context, not
// something to click, and a page's own paths stay first in its overlay.
function outlineLayer(map) {
  if (!config.outlines || !config.outlines.length) return null;
  if (!map.getPane("canvassOutline")) map.createPane("canvassOutline").style.zIndex = 350;
  return L.geoJSON(
    { type: "FeatureCollection", features: config.outlines.map((o) => ({ type: "Feature", properties: {}, geometry: o.geometry })) },
    { pane: "canvassOutline", style: { color: "#1d4e89", weight: 2, dashArray: "6 4", fill: false, className: "agency-outline" }, interactive: false },
  );
}

// The page's legend (a server-rendered <ul class="map-legend" data-for="<map id>">) gains the
// outline's entry; a map without one gets a legend of just that.
function legend(el, hasOutline) {
  let list = document.querySelector(`.map-legend[data-for="${el.id}"]`);
  if (!list) {
    if (!hasOutline) return;
    list = document.createElement("ul");
    list.className = "map-legend";
    list.dataset.for = el.id;
    el.insertAdjacentElement("afterend", list);
  }
  if (hasOutline && !list.querySelector(".key-area")) {
    const item = document.createElement("li");
    const key = document.createElement("span");
    key.className = "key key-area";
    item.append(key, document.createTextNode(words.area || "Agency area"));
    list.prepend(item);
  }
  list.setAttribute("aria-label", words.legend || "Legend");
  list.hidden = false;
}

const SearchControl = () =>
  L.Control.extend({
    options: { position: "topright" },
    onAdd(map) {
      const form = L.DomUtil.create("form", "map-search leaflet-bar");
      form.setAttribute("role", "search");
      const input = document.createElement("input");
      input.type = "search";
      input.name = "q";
      input.maxLength = 300;
      input.placeholder = words.search || "Find an address";
      input.setAttribute("aria-label", words.search || "Find an address");
      const button = document.createElement("button");
      button.type = "submit";
      button.textContent = words.searchButton || "Go";
      const status = document.createElement("span");
      status.className = "map-search-status";
      status.setAttribute("role", "status");
      form.append(input, button, status);
      L.DomEvent.disableClickPropagation(form);
      L.DomEvent.disableScrollPropagation(form);
      let found = null;
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const q = input.value.trim();
        if (!q) return;
        status.textContent = words.searching || "…";
        let response;
        try {
          response = await fetch(`${config.geocode}?${new URLSearchParams({ q })}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
        } catch (e) {
          status.textContent = words.unavailable || "";
          return;
        }
        if (!response.ok) { status.textContent = words.unavailable || ""; return; }
        const place = await response.json();
        if (!place.found) { status.textContent = words.notFound || ""; return; }
        status.textContent = place.label;
        const at = L.latLng(place.lat, place.lon);
        if (found) found.setLatLng(at);
        else found = L.circleMarker(at, { radius: 8, color: "#b42318", weight: 3, fillOpacity: 0.3, interactive: false, className: "found-place" }).addTo(map);
        map.setView(at, Math.max(map.getZoom(), 16));
        map.getContainer().dispatchEvent(new CustomEvent("canvass:place", { detail: place }));
      });
      return form;
    },
  });

// A dashed circle of `metres` round a point: the area a search covers.
function radius(map, lat, lon, metres) {
  return L.circle([lat, lon], { radius: metres, color: "#7b2cbf", weight: 2, dashArray: "4 4", fill: false, interactive: false, className: "search-radius" }).addTo(map);
}

// Options: fit ("area": show the whole jurisdiction; "centre": its centre, at the map's zoom;
// "empty", the default: the whole jurisdiction only when the map has no view yet, so a map that
// already centred on its subject keeps it). A page may say data-fit instead.
function basemap(map, el, options = {}) {
  const fit = options.fit || el.dataset.fit || "empty";
  const base = basemapLayer();
  if (base) base.addTo(map);
  const outline = outlineLayer(map);
  if (outline) {
    outline.addTo(map);
    let hasView = true;
    try { map.getCenter(); } catch (e) { hasView = false; }
    if (fit === "centre" && hasView) map.setView(outline.getBounds().getCenter(), map.getZoom());
    else if (fit === "area" || !hasView) map.fitBounds(outline.getBounds(), { padding: [8, 8] });
  }
  legend(el, !!outline);
  // A page with an address field of its own that sets its pin says data-search="page".
  if (config.geocode && el.dataset.search !== "page") new (SearchControl())().addTo(map);
  if (el.dataset.radius && el.dataset.lat && el.dataset.lon) {
    radius(map, parseFloat(el.dataset.lat), parseFloat(el.dataset.lon), parseFloat(el.dataset.radius));
  }
  el.dataset.basemap = base ? (config.basemap.kind || "") : "none";
  return map;
}

window.CanvassMap = { basemap, radius, config };
