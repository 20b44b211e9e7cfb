// Canvass tip pages, offline. Served by submissions/pwa.py with the URLs filled in.
// Keeps the tip form pages and their static files so a tip page opens with no signal; the tips
// themselves wait in IndexedDB (static/src/tip-offline.js), never here. Return pages (a tip's
// status and messages) and the API are never kept.
const { CACHE, SCOPE, RETURN_PREFIX, STRINGS_URL, STATIC_PREFIX, SHELL } = {{ config_json|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => Promise.all(SHELL.map((url) => cache.add(url).catch(() => null))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// A tip form page (the list of agencies or one agency's form), never a return page.
function isShellPage(url) {
  return (
    url.origin === self.location.origin &&
    url.pathname.startsWith(SCOPE) &&
    !url.pathname.startsWith(RETURN_PREFIX) &&
    !url.search &&
    !/\.[a-z0-9]+$/i.test(url.pathname)
  );
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request.url, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(request.url);
    if (kept) return kept;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request.url);
  const fresh = fetch(request)
    .then((response) => {
      if (response.ok) cache.put(request.url, response.clone());
      return response;
    })
    .catch(() => null);
  return kept || (await fresh) || Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if ((request.mode === "navigate" && isShellPage(url)) || url.pathname === STRINGS_URL) {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.startsWith(STATIC_PREFIX)) {
    event.respondWith(cacheFirst(request));
  }
});

// The page asks us to keep itself: the page a person has open is the one they will want.
self.addEventListener("message", (event) => {
  const wanted = event.data && event.data.keep;
  if (!wanted) return;
  const url = new URL(wanted, self.location.href);
  if (!isShellPage(url)) return;
  event.waitUntil(caches.open(CACHE).then((cache) => cache.add(url.href)).catch(() => null));
});
