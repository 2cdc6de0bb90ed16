// What every measure here starts from: a new browser profile (nothing on the device) at a phone's
// 360 px, signed in as a demo person, and the CPU slowed 4× as Lighthouse's mobile run slows it.
import { chromium } from 'playwright';

/// A signed-in page of a new profile: `{ browser, ctx, page }`.
export async function signedInPhone(base, email) {
  const browser = await chromium.launch({ executablePath: process.env.CHROME_PATH || '/usr/bin/chromium' });
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const login = await ctx.request.post(`${base}/api/auth/login`, { data: { email, password: 'fieldclose-demo' } });
  if (!login.ok()) throw new Error(`sign-in failed: ${login.status()}`);
  return { browser, ctx, page: await ctx.newPage() };
}

/// Slows the page's CPU 4×; returns the DevTools session for further commands.
export async function slowCpu(ctx, page) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  return cdp;
}
