// A first visit as Lighthouse's mobile run makes it, taken apart: sign in as a person, open a
// page in a new browser profile (nothing on the device) with the CPU slowed 4×, and list what
// held the main thread: every long task (over 50 ms) with the app's own User Timing measures
// that overlap it (fc:*), the first paint, the largest paint, the first row, and the blocking
// time (each long task's time over 50 ms, from the first paint until 5 s pass quietly).
//
//   node measure/long-tasks.mjs BASE_URL EMAIL PATH [ROW_SELECTOR]
//   node measure/long-tasks.mjs http://127.0.0.1:3300 tech1@demo.fieldclose.test /today
//
// Run from end2end/ (it imports that folder's Playwright) with Debian's Chromium. Lighthouse
// simulates its throttling and reports its own figures; this shows where the time goes.
import { signedInPhone, slowCpu } from './phone.mjs';

const [base, email, path, selector = '[data-testid="consultation"], [data-testid="queue-row"]'] = process.argv.slice(2);
const { browser, ctx, page } = await signedInPhone(base, email);
await page.addInitScript((sel) => {
  window.__long = [];
  window.__lcp = 0;
  new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push([e.startTime, e.duration]))).observe({
    type: 'longtask',
    buffered: true,
  });
  new PerformanceObserver((l) => l.getEntries().forEach((e) => (window.__lcp = e.startTime))).observe({
    type: 'largest-contentful-paint',
    buffered: true,
  });
  const seen = () => {
    if (window.__firstRow === undefined && document.querySelector(sel)) window.__firstRow = performance.now();
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
}, selector);
await slowCpu(ctx, page);
await page.goto(base + path, { waitUntil: 'load' });
// Quiet for 5 s: no new long task.
let seen = -1;
for (let i = 0; i < 60; i++) {
  await page.waitForTimeout(5000);
  const n = await page.evaluate(() => window.__long.length);
  if (n === seen) break;
  seen = n;
}
const r = await page.evaluate(() => ({
  long: window.__long,
  lcp: window.__lcp,
  row: window.__firstRow,
  fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0,
  marks: performance.getEntriesByType('measure').filter((m) => m.name.startsWith('fc:')).map((m) => [m.name, m.startTime, m.duration]),
}));
const ms = (x) => `${Math.round(x)}`.padStart(6);
console.log(`${path} as ${email}, CPU 4× slower: FCP ${Math.round(r.fcp)} ms, LCP ${Math.round(r.lcp)} ms, first row ${r.row === undefined ? '-' : Math.round(r.row)} ms`);
let blocking = 0;
for (const [start, dur] of r.long) {
  if (start + dur > r.fcp) blocking += Math.max(0, dur - 50);
  const inside = r.marks.filter(([, s, d]) => s < start + dur && s + d > start).map(([n, , d]) => `${n} ${Math.round(d)}`);
  console.log(`long task at ${ms(start)} ms for ${ms(dur)} ms  ${inside.join(', ')}`);
}
console.log(`blocking time after the first paint: ${Math.round(blocking)} ms in ${r.long.length} long tasks`);
await browser.close();
