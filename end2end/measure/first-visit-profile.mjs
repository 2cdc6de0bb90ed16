// A CPU profile of a first visit, as long-tasks.mjs makes it (new profile, signed in, CPU 4×
// slower, 360 px), written as a .cpuprofile for `scripts/profile-top.mjs`; prints the first paint
// and the long tasks (start+duration, ms). Names of Rust functions appear only in a build that
// keeps them: `LEPTOS_WASM_OPT_FEATURES="-Oz,--enable-bulk-memory,--enable-nontrapping-float-to-int,-g"`.
//
//   node measure/first-visit-profile.mjs BASE_URL EMAIL PATH OUT.cpuprofile
//
// Run from end2end/ (it imports that folder's Playwright) with Debian's Chromium.
import { signedInPhone, slowCpu } from './phone.mjs';
import { writeFileSync } from 'node:fs';
const [base, email, path, out] = process.argv.slice(2);
const { browser, ctx, page } = await signedInPhone(base, email);
await page.addInitScript(() => {
  window.__long = [];
  new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push([e.startTime, e.duration]))).observe({
    type: 'longtask',
    buffered: true,
  });
});
const cdp = await slowCpu(ctx, page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
await cdp.send('Profiler.start');
await page.goto(base + path, { waitUntil: 'load' });
await page.waitForTimeout(12000);
const { profile } = await cdp.send('Profiler.stop');
const r = await page.evaluate(() => ({
  long: window.__long,
  fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
}));
writeFileSync(out, JSON.stringify(profile));
console.log(`FCP ${Math.round(r.fcp)} ms; long tasks: ${r.long.map(([s, d]) => `${Math.round(s)}+${Math.round(d)}`).join(' ')}`);
await browser.close();
