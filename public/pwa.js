// Registers the service worker, keeps the person's tabs cached for offline starts, offers a new
// version when one is ready, forgets cached pages once signed out, and keeps a failed fetch of a
// page's code from stopping the app. Plain JS: it works before the wasm has loaded and even if it
// never does.

// A page's code, other than the first screen's, is a wasm chunk of its own, fetched when the
// page is first opened or preloaded (see app::ui). When that fetch fails, the chunk loader
// reports a failed load, which the Rust side (wasm-split) answers with a panic: with no signal in
// a basement, before the chunks were cached, that panic stopped the whole app. So a chunk fetch
// that fails here is retried until it succeeds — at once when the network comes back, and with a
// quiet note while anything waits — and a chunk the server no longer has (a newer version was
// deployed) reloads the page onto that version, at most once a minute.
(function () {
  const CHUNK = /\/pkg\/(split_|chunk_)[^/]*\.wasm$/;
  const realFetch = window.fetch.bind(window);
  let waiting = 0;

  function note() {
    let el = document.getElementById('fc-code-waiting');
    if (waiting > 0 && !el && document.body) {
      el = document.createElement('div');
      el.id = 'fc-code-waiting';
      el.className = 'code-waiting';
      el.setAttribute('role', 'status');
      el.dataset.testid = 'code-waiting';
      el.textContent = 'Some screens are not on this device yet. They open once there is signal.';
      document.body.appendChild(el);
    } else if (waiting === 0 && el) {
      el.remove();
    }
  }

  function nextTry(ms) {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        window.removeEventListener('online', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      window.addEventListener('online', done);
    });
  }

  function reloadOntoNewVersion() {
    try {
      const last = Number(sessionStorage.getItem('fc-chunk-reload') || 0);
      if (Date.now() - last < 60_000) return false;
      sessionStorage.setItem('fc-chunk-reload', String(Date.now()));
    } catch (_) {
      return false; // no session storage: never risk a reload loop, keep retrying instead
    }
    window.location.reload();
    return true;
  }

  async function fetchChunk(input, init) {
    let delay = 1000;
    let counted = false;
    try {
      for (;;) {
        try {
          const resp = await realFetch(input, init);
          if (resp.ok) return resp;
          if (resp.status === 404 && reloadOntoNewVersion()) return new Promise(() => {});
        } catch (_) {
          /* no network: try again */
        }
        if (!counted) {
          counted = true;
          waiting += 1;
          note();
        }
        await nextTry(delay);
        delay = Math.min(delay * 2, 30_000);
      }
    } finally {
      if (counted) {
        waiting -= 1;
        note();
      }
    }
  }

  window.fetch = function (input, init) {
    const url = input instanceof Request ? input.url : String(input);
    if (CHUNK.test(new URL(url, window.location.href).pathname)) return fetchChunk(input, init);
    return realFetch(input, init);
  };
})();

(function () {
  if (!('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;

  function offlineUrls() {
    const el = document.querySelector('[data-offline-urls]');
    return el ? el.dataset.offlineUrls.split(' ').filter(Boolean) : [];
  }

  // The company's logo, for the presentation offline (the service worker keeps images apart).
  function logoUrl() {
    try {
      const me = JSON.parse(document.querySelector('meta[name="fc-user"]').content || 'null');
      return me && me.company_logo ? ['/api/blobs/' + me.company_logo] : [];
    } catch (_) {
      return [];
    }
  }

  function whenHydrated(fn) {
    if (document.body && document.body.dataset.hydrated) return fn();
    setTimeout(() => whenHydrated(fn), 300);
  }

  function offerUpdate(worker) {
    whenHydrated(() => {
      if (document.getElementById('fc-update')) return;
      const bar = document.createElement('div');
      bar.id = 'fc-update';
      bar.className = 'update-bar';
      bar.setAttribute('role', 'status');
      bar.innerHTML = '<span>A new version of Fieldclose is ready.</span> <button type="button">Reload</button>';
      bar.querySelector('button').addEventListener('click', () => worker.postMessage({ type: 'skip-waiting' }));
      document.body.appendChild(bar);
    });
  }

  sw.addEventListener('message', (e) => {
    if (e.data && e.data.type === 'warmed' && e.data.ready) {
      document.documentElement.dataset.offlineReady = e.data.build;
    }
    // A tapped notification (sw.js): open its screen here.
    if (e.data && e.data.type === 'open' && typeof e.data.url === 'string' && /^\/(?!\/)/.test(e.data.url)) {
      if (window.location.pathname !== e.data.url) window.location.assign(e.data.url);
    }
  });

  let reloading = false;
  sw.addEventListener('controllerchange', () => {
    // Only after the person accepted an update (a first install has no previous controller).
    if (reloading || !window.__fcUpdateAccepted) return;
    reloading = true;
    window.location.reload();
  });


  window.addEventListener('load', async () => {
    try {
      const reg = await sw.register('/sw.js', { scope: '/' });
      const hadController = !!sw.controller;
      const watch = (worker) => {
        worker.addEventListener('statechange', () => {
          if (worker.state === 'installed' && hadController) offerUpdate(worker);
        });
      };
      if (reg.waiting && hadController) offerUpdate(reg.waiting);
      if (reg.installing) watch(reg.installing);
      reg.addEventListener('updatefound', () => reg.installing && watch(reg.installing));
      const ready = await sw.ready;
      const urls = offlineUrls().concat(logoUrl());
      if (urls.length && ready.active) ready.active.postMessage({ type: 'warm', urls });
      // Signed out (the page names nobody): forget the cached pages, which carry the last
      // person's name. Done here rather than on the sign-out click, which may still be cancelled.
      const me = document.querySelector('meta[name="fc-user"]');
      if (me && me.content === '' && ready.active) ready.active.postMessage({ type: 'logout' });
    } catch (err) {
      console.warn('Fieldclose: offline support is unavailable:', err);
    }
  });

  document.addEventListener('click', (e) => {
    if (e.target.closest && e.target.closest('#fc-update button')) window.__fcUpdateAccepted = true;
  }, true);
})();

// The offer to install the app, right after someone joins from an invite link (`?welcome=1`):
// a technician's phone then opens Fieldclose from the home screen, offline too. Chromium asks
// through `beforeinstallprompt`; Safari has no prompt, so it is told where the menu item is.
(function () {
  let deferred = null;
  window.addEventListener('beforeinstallprompt', (e) => {
    e.preventDefault();
    deferred = e;
    const button = document.querySelector('#fc-install [data-install]');
    if (button) button.hidden = false;
  });
  if (!/[?&]welcome=1\b/.test(window.location.search)) return;
  if (window.matchMedia('(display-mode: standalone)').matches) return;
  const show = () => {
    if (!document.body || document.getElementById('fc-install')) return;
    const bar = document.createElement('div');
    bar.id = 'fc-install';
    bar.className = 'update-bar';
    bar.setAttribute('role', 'status');
    const ios = /iPhone|iPad|iPod/.test(navigator.userAgent);
    bar.innerHTML = (ios
      ? '<span>Welcome! Add Fieldclose to your home screen: tap Share, then “Add to Home Screen”. It works with no signal.</span>'
      : '<span>Welcome! Install Fieldclose on this device: it opens from your home screen and works with no signal.</span> <button type="button" data-install hidden>Install</button>')
      + ' <button type="button" data-dismiss>Not now</button>';
    bar.querySelector('[data-dismiss]').addEventListener('click', () => bar.remove());
    const button = bar.querySelector('[data-install]');
    if (button) {
      button.hidden = !deferred;
      button.addEventListener('click', () => {
        if (!deferred) return;
        deferred.prompt();
        deferred.userChoice.finally(() => bar.remove());
        deferred = null;
      });
    }
    document.body.appendChild(bar);
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', show);
  else show();
})();
