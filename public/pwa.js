// Registers the service worker, keeps the person's tabs cached for offline starts, offers a new
// version when one is ready, and forgets cached pages once signed out. Plain JS: it works before the
// wasm has loaded and even if it never does.
(function () {
  if (!('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;

  function offlineUrls() {
    const el = document.querySelector('[data-offline-urls]');
    return el ? el.dataset.offlineUrls.split(' ').filter(Boolean) : [];
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
      const urls = offlineUrls();
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
