// The first row on a repeat visit: sign in as a person, let the first sync finish, then reload
// the page RUNS times and time each from navigation to the first record row on screen, with the
// CPU slowed 4× (Lighthouse's mobile setting) and, optionally, the network cut (the records come
// from the device either way). Prints the median and each run.
//
//   node measure/first-row.mjs BASE_URL EMAIL PATH [SELECTOR] [RUNS] [--offline]
//   node measure/first-row.mjs http://127.0.0.1:3300 tech1@demo.fieldclose.test /today
//
// Run from end2end/ (it imports that folder's Playwright) with Debian's Chromium.
import { signedInPhone, slowCpu } from './phone.mjs';

const [base, email, path, selector = '[data-testid="consultation"]', runs = '5'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const offline = process.argv.includes('--offline');
const { browser, ctx, page } = await signedInPhone(base, email);
// The moment the first row is in the document, by the page's own clock (from navigation start).
await page.addInitScript((sel) => {
  const seen = () => {
    if (window.__firstRow === undefined && document.querySelector(sel)) window.__firstRow = performance.now();
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true });
  seen();
}, selector);
await page.goto(base + path);
// The first visit: wait for the first sync to bring rows.
await page.waitForSelector(selector, { timeout: 120_000 });
await page.waitForTimeout(3000);
await slowCpu(ctx, page);
if (offline) await ctx.setOffline(true);
const times = [];
for (let i = 0; i < Number(runs); i++) {
  await page.reload({ waitUntil: 'commit' });
  await page.waitForSelector(selector, { timeout: 60_000 });
  times.push(await page.evaluate(() => Math.round(window.__firstRow)));
}
times.sort((a, b) => a - b);
console.log(`${path} as ${email}${offline ? ' (offline)' : ''}: first row after ${times[times.length >> 1]} ms median (${times.join(', ')} ms), CPU 4× slower`);
await browser.close();
