// Every spec's `test`: it fails when any page of the test — in the default context or in one the
// spec opens itself — crashes (an uncaught error, a wasm panic) or logs an error to the console.
// The browser's own lines about a request the server refused or the network dropped are not
// errors of the app (specs refuse input and cut the network on purpose), so they are let through.
import { test as base, expect, Page, BrowserContext } from '@playwright/test';

// Everything else as Playwright has it (`expect`, `request`, the types); `test` is this one.
export * from '@playwright/test';

// The browser's network log, not the app's: "Failed to load resource: the server responded with a
// status of 422", "net::ERR_INTERNET_DISCONNECTED", an EventSource that lost its server.
const NETWORK = [/^Failed to load resource/, /net::ERR_/, /EventSource/];

export const test = base.extend<{ pageGuard: void }>({
  pageGuard: [
    async ({ browser, context }, use) => {
      const problems: string[] = [];
      const watch = (page: Page) => {
        page.on('pageerror', (e) => problems.push(`crash on ${page.url()}: ${e.message}`));
        page.on('console', (m) => {
          if (m.type() === 'error' && !NETWORK.some((n) => n.test(m.text()))) {
            problems.push(`console error on ${page.url()}: ${m.text()}`);
          }
        });
      };
      const guard = (c: BrowserContext) => {
        c.pages().forEach(watch);
        c.on('page', watch);
        return c;
      };
      guard(context);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (...args: Parameters<typeof browser.newContext>) => guard(await newContext(...args));
      try {
        await use();
      } finally {
        browser.newContext = newContext;
      }
      expect(problems, 'no page crashed or logged an error').toEqual([]);
    },
    { auto: true },
  ],
});
