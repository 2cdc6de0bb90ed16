// Fieldclose service worker. The server fills in BUILD and PRECACHE (see server/src/pwa.rs),
// so HTML, js, wasm and css of one build are cached and served together (never mixed).
const BUILD = '__BUILD_ID__';
const PRECACHE = __PRECACHE__;
const SHELL = `fc-shell-${BUILD}`; // the bundle and static files of this build
const PAGES = `fc-pages-${BUILD}`; // server-rendered pages, kept for offline starts
// The company's images by SHA-256 (its logo): a name never changes content, so they outlive builds.
const BLOBS = 'fc-blobs';
const HOME_KEY = '/__fieldclose_home'; // where "/" goes when offline (the person's first tab)
const NAV_TIMEOUT_MS = 4000; // one bar of signal: past this, answer from the cache

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(PRECACHE)));
  // A first install activates at once; an update waits for the person's consent (pwa.js).
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const keep = new Set([SHELL, PAGES, BLOBS]);
      for (const key of await caches.keys()) if (!keep.has(key)) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type === 'skip-waiting') self.skipWaiting();
  if (msg.type === 'logout') {
    // The server ends this device's push subscription with the session; the browser's goes too.
    const unsubscribe = self.registration.pushManager
      ? self.registration.pushManager.getSubscription().then((s) => s && s.unsubscribe()).catch(() => {})
      : Promise.resolve();
    event.waitUntil(Promise.all([caches.delete(PAGES), caches.delete(BLOBS), unsubscribe]));
  }
  if (msg.type === 'warm') event.waitUntil(warm(msg.urls || [], event.source));
});

// Keeps a fresh copy of each of the person's tabs so the app opens from a cold start offline.
async function warm(all, client) {
  const urls = all.filter((u) => !u.startsWith('/api/blobs/'));
  for (const url of all.filter((u) => u.startsWith('/api/blobs/'))) {
    try {
      await blob(new Request(new URL(url, self.location.origin), { credentials: 'same-origin' }));
    } catch (_) {
      /* offline: fetched the next time it is shown online */
    }
  }
  const cache = await caches.open(PAGES);
  let ok = 0;
  for (const url of urls) {
    try {
      // An offline copy is opened by a device that has synced: it needs no first-screen rows.
      const resp = await fetch(url, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { 'X-Fieldclose-Offline-Copy': '1' },
      });
      if (resp.ok && !resp.redirected) {
        await cache.put(url, resp);
        ok += 1;
      }
    } catch (_) {
      /* offline: keep the copy we have */
    }
  }
  if (urls.length) await cache.put(HOME_KEY, new Response(urls[0]));
  const cached = (await Promise.all(urls.map((u) => cache.match(u)))).every(Boolean);
  if (client) client.postMessage({ type: 'warmed', build: BUILD, ready: cached && urls.length > 0, refreshed: ok });
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/blobs/')) {
    event.respondWith(blob(req));
    return;
  }
  // A customer's proposal copy (/p/…) is read as it stands, never kept on this device.
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/p/') || url.pathname === '/sw.js') return;
  if (req.mode === 'navigate') {
    event.respondWith(navigate(req, url));
    return;
  }
  if (PRECACHE.includes(url.pathname)) {
    // Cache first, and never answer a bundle request with HTML.
    event.respondWith(caches.match(url.pathname, { cacheName: SHELL }).then((hit) => hit || fetch(req)));
  }
});

async function navigate(req, url) {
  const cache = await caches.open(PAGES);
  const cached = await cache.match(url.pathname);
  const network = fetch(req).then(async (resp) => {
    if (resp.ok && !resp.redirected && resp.headers.get('content-type')?.includes('text/html')) {
      await cache.put(url.pathname, resp.clone());
    }
    return resp;
  });
  try {
    if (!cached) return await network;
    const timeout = new Promise((resolve) => setTimeout(() => resolve(cached), NAV_TIMEOUT_MS));
    return await Promise.race([network, timeout]);
  } catch (_) {
    if (cached) return cached;
    const home = await cache.match(HOME_KEY);
    if (home && (url.pathname === '/' || url.pathname === '/login')) {
      return Response.redirect(await home.text(), 302);
    }
    return (await caches.match('/offline.html', { cacheName: SHELL })) || Response.error();
  }
}

// An image by its hash: the copy kept here, else the network's (kept for next time, offline).
async function blob(req) {
  const cache = await caches.open(BLOBS);
  const hit = await cache.match(req.url);
  if (hit) return hit;
  const resp = await fetch(req);
  if (resp.ok) await cache.put(req.url, resp.clone());
  return resp;
}

// Web Push (server/src/push): a notice is shown as it came; a tap opens its screen in the tab
// already open (pwa.js navigates it), or in a new one.
self.addEventListener('push', (event) => {
  let notice = {};
  try {
    notice = event.data ? event.data.json() : {};
  } catch (_) {
    notice = { title: event.data ? event.data.text() : '' };
  }
  event.waitUntil(
    self.registration.showNotification(notice.title || 'Fieldclose', {
      body: notice.body || '',
      tag: notice.tag || undefined,
      renotify: Boolean(notice.tag),
      icon: '/icons/icon-192.png',
      badge: '/icons/icon-192.png',
      data: { url: samePage(notice.url) },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = samePage(event.notification.data && event.notification.data.url);
  event.waitUntil(
    (async () => {
      const tabs = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const tab = tabs.find((c) => new URL(c.url).origin === self.location.origin);
      if (!tab) return self.clients.openWindow(url);
      tab.postMessage({ type: 'open', url });
      try {
        await tab.focus();
      } catch (_) {
        /* focusing needs the tap's permission, which a replayed event lacks */
      }
    })(),
  );
});

// Only a path of this app: a notice never sends the person to another site.
function samePage(url) {
  return typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : '/';
}
