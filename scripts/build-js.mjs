// Bundles the browser code in static/src into static/dist (`npm run build`).
// One IIFE per page, minified, for browsers from about 2019 on; CSS imported by a
// bundle comes out beside it (upload.js -> upload.css).
import { build } from "esbuild";
import { readFile, rm } from "node:fs/promises";

const ENTRIES = [
  "static/src/basemap.js",
  "static/src/upload.js",
  "static/src/player.js",
  "static/src/syncplay.js",
  "static/src/redact-editor.js",
  "static/src/camera-map.js",
  "static/src/tip.js",
  "static/src/tip-offline.js",
  "static/src/tip-receipt.js",
  "static/src/tip-work.js",
  "static/src/live-viewer.js",
  "static/src/live-wall.js",
  "static/src/live-clips.js",
];
const OUT_DIR = "static/dist";
// URLs a bundle may contain without fetching them: XML namespaces and scheme identifiers
// (w3.org, aomedia.org), and links the libraries only print in messages or show as links
// (the ALTCHA widget's logo and footer link, hidden on our pages; Svelte's error help pages;
// protomaps-leaflet's default attribution links, which basemap.js replaces, and the dummy base
// it parses a relative URL against).
const HARMLESS_URL =
  /^https?:\/\/(www\.w3\.org|aomedia\.org|uppy\.io|github\.com|developer\.mozilla\.org|altcha\.org|svelte\.dev|protomaps\.com|openstreetmap\.org|example\.com)(\/|$)/;

// Start empty so a renamed or removed entry leaves no stale bundle behind to be served.
await rm(OUT_DIR, { recursive: true, force: true });
const result = await build({
  entryPoints: ENTRIES,
  outdir: OUT_DIR,
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2019",
  legalComments: "linked",
  metafile: true,
  logLevel: "warning",
});

// Evidence pages must not reach out to another site: refuse a bundle with a remote URL in it.
const bundles = Object.keys(result.metafile.outputs).filter((f) => !f.endsWith(".LEGAL.txt"));
for (const file of bundles) {
  const text = await readFile(file, "utf8");
  const remote = (text.match(/https?:\/\/[^\s"'`)]+/g) || []).filter((u) => !HARMLESS_URL.test(u));
  if (remote.length) {
    console.error(`${file} names remote URLs: ${[...new Set(remote)].join(", ")}`);
    process.exit(1);
  }
  console.log(`${file}  ${result.metafile.outputs[file].bytes} bytes`);
}
