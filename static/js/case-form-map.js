// The case form's map: click (or drag the pin) to set the incident point, draw the incident
// area with the polygon tool (Leaflet.draw). The latitude, longitude and area fields stay the
// form's truth: the map writes them, and typing in them moves the map.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("case-form-map");
  if (!el || !window.L) return;
  const lat = document.getElementById("id_lat");
  const lon = document.getElementById("id_lon");
  const area = document.getElementById("id_area");
  const map = L.map(el);
  window.CanvassMap.basemap(map, el); // the shared basemap (static/src/basemap.js)

  let pin = null;
  function placePin(at) {
    if (!pin) {
      pin = L.marker(at, { draggable: true, title: "Incident point", keyboard: true }).addTo(map);
      pin.on("dragend", () => writePoint(pin.getLatLng()));
    } else {
      pin.setLatLng(at);
    }
    el.dataset.point = `${at.lat.toFixed(6)},${at.lng.toFixed(6)}`;
  }
  function writePoint(at) {
    lat.value = at.lat.toFixed(6);
    lon.value = at.lng.toFixed(6);
    placePin(at);
  }
  function readPoint() {
    const la = parseFloat(lat.value);
    const lo = parseFloat(lon.value);
    if (Number.isFinite(la) && Number.isFinite(lo) && Math.abs(la) <= 90 && Math.abs(lo) <= 180) {
      placePin(L.latLng(la, lo));
      return true;
    }
    return false;
  }

  const drawn = new L.FeatureGroup().addTo(map);
  function writeArea() {
    const polygons = [];
    drawn.eachLayer((layer) => {
      const geometry = layer.toGeoJSON().geometry;
      if (geometry.type === "Polygon") polygons.push(geometry.coordinates);
      if (geometry.type === "MultiPolygon") polygons.push(...geometry.coordinates);
    });
    area.value = polygons.length
      ? JSON.stringify({ type: "MultiPolygon", coordinates: polygons })
      : "";
    el.dataset.polygons = String(polygons.length);
  }
  function readArea() {
    drawn.clearLayers();
    if (!area.value.trim()) return;
    try {
      L.geoJSON(JSON.parse(area.value)).eachLayer((layer) => {
        // A MultiPolygon comes in as one layer; edit its parts one by one.
        const parts = layer.getLatLngs();
        if (layer.feature.geometry.type === "MultiPolygon") {
          parts.forEach((rings) => drawn.addLayer(L.polygon(rings)));
        } else {
          drawn.addLayer(L.polygon(parts));
        }
      });
    } catch (error) {
      // Not GeoJSON yet (being typed): the server says what is wrong when the form is sent.
    }
    el.dataset.polygons = String(drawn.getLayers().length);
  }

  map.addControl(
    new L.Control.Draw({
      position: "topright",
      draw: {
        polygon: { allowIntersection: false, showArea: false },
        polyline: false,
        rectangle: false,
        circle: false,
        circlemarker: false,
        marker: false,
      },
      edit: { featureGroup: drawn },
    }),
  );
  map.on(L.Draw.Event.CREATED, (event) => {
    drawn.addLayer(event.layer);
    writeArea();
  });
  map.on(L.Draw.Event.EDITED, writeArea);
  map.on(L.Draw.Event.DELETED, writeArea);

  // A click sets the point, except while the polygon tool is drawing (its clicks are corners).
  let drawing = false;
  map.on(L.Draw.Event.DRAWSTART, () => {
    drawing = true;
  });
  map.on(L.Draw.Event.DRAWSTOP, () => {
    drawing = false;
  });
  map.on("click", (event) => {
    if (!drawing) writePoint(event.latlng);
  });
  [lat, lon].forEach((input) => input.addEventListener("change", readPoint));
  area.addEventListener("change", readArea);

  const hasPoint = readPoint();
  readArea();
  const bounds = L.featureGroup([...(pin ? [pin] : []), ...drawn.getLayers()]).getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds.pad(0.3), { maxZoom: 17 });
  } else if (el.dataset.bounds) {
    const [west, south, east, north] = el.dataset.bounds.split(",").map(Number);
    map.fitBounds([
      [south, west],
      [north, east],
    ]);
  } else {
    map.setView([Number(el.dataset.lat), Number(el.dataset.lon)], 13);
  }
  el.dataset.ready = hasPoint ? "point" : "empty";
});
