import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
const child = spawn(process.env.FIELDCLOSE_BIN, [], { env: { ...process.env, LEPTOS_SITE_ADDR: '127.0.0.1:3311' } });
await new Promise((r) => setTimeout(r, 4000));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
const page = await (await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 1 })).newPage();
const base = 'http://127.0.0.1:3311';
await page.goto(base + '/login');
await page.fill('input[name=email]', process.argv[2]);
await page.fill('input[name=password]', 'fieldclose-demo');
await page.click('button[type=submit]');
await page.waitForTimeout(3000);
for (const [path, out] of JSON.parse(process.argv[3])) {
  await page.goto(base + path);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: out, fullPage: true });
}
await browser.close();
child.kill();
