// What the browser itself did inside each long task of a first visit (the part a CPU profile
// shows only as "(program)": style, layout, paint, compiling wasm and JS, garbage collection),
// as long-tasks.mjs makes the visit (new profile, signed in, CPU 4× slower, 360 px).
//
//   node measure/trace-tasks.mjs BASE_URL EMAIL PATH
//
// Run from end2end/ (it imports that folder's Playwright) with Debian's Chromium. Prints each
// task over 50 ms with the trace events that took the most of it (an event's own time, less the
// events inside it).
import { signedInPhone, slowCpu } from './phone.mjs';
const [base, email, path] = process.argv.slice(2);
const { browser, ctx, page } = await signedInPhone(base, email);
await slowCpu(ctx, page);
await browser.startTracing(page, {
  categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.wasm', 'v8.execute', 'blink', 'loading'],
});
await page.goto(`${base}${path}`);
await page.waitForTimeout(8000);
const trace = JSON.parse((await browser.stopTracing()).toString());
await browser.close();

const main = trace.traceEvents.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
const events = trace.traceEvents
  .filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.dur)
  .sort((a, b) => a.ts - b.ts || b.dur - a.dur);
const tasks = events.filter((e) => e.name === 'RunTask' && e.dur > 50_000);
const t0 = events[0].ts;
for (const task of tasks) {
  const inside = events.filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur);
  // Self time: each event's duration less that of the events directly inside it.
  const self = new Map();
  const stack = [];
  for (const e of inside) {
    while (stack.length && stack.at(-1).ts + stack.at(-1).dur <= e.ts) stack.pop();
    if (stack.length) self.set(stack.at(-1), (self.get(stack.at(-1)) ?? stack.at(-1).dur) - e.dur);
    self.set(e, self.get(e) ?? e.dur);
    stack.push(e);
  }
  const byName = new Map();
  for (const [e, us] of self) byName.set(e.name, (byName.get(e.name) ?? 0) + us);
  console.log(`task at ${((task.ts - t0) / 1000).toFixed(0)} ms for ${(task.dur / 1000).toFixed(0)} ms`);
  [...byName].sort((a, b) => b[1] - a[1]).slice(0, 8)
    .forEach(([n, us]) => console.log(`  ${(us / 1000).toFixed(1).padStart(7)} ms  ${n}`));
}
