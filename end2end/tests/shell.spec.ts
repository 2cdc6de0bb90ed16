import { test, expect, chromium } from './guard';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumLaunch } from '../playwright.config';
import { startServer, signIn, hydrated, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('a wrong password gets one plain message and no session', async ({ page }) => {
  server = await startServer();
  await signIn(page, server.url, DEMO.tech, 'not the password');
  await expect(page).toHaveURL(/\/login\?error=invalid/);
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
  await expect(page.getByLabel('Email')).toHaveValue(DEMO.tech);
});

test('the bundle is sent brotli-compressed to a browser that accepts it, gzip to one that does not', async ({
  request,
}) => {
  server = await startServer();
  for (const [accept, encoding] of [
    ['br, gzip', 'br'],
    ['gzip', 'gzip'],
  ] as const) {
    for (const file of ['/pkg/fieldclose.wasm', '/pkg/fieldclose.js']) {
      const resp = await request.get(server.url + file, { headers: { 'Accept-Encoding': accept } });
      expect(resp.status(), file).toBe(200);
      expect(resp.headers()['content-encoding'], `${file} for ${accept}`).toBe(encoding);
    }
  }
});

test('each role lands on its own tabs', async ({ page }) => {
  server = await startServer();
  for (const [email, home, tabs] of [
    [DEMO.tech, '/today', ['Today', 'New', 'My day', 'Sync']],
    [DEMO.rep, '/queue', ['Queue', 'My day', 'Sync']],
    [DEMO.manager, '/dashboard', ['Dashboard', 'Leads', 'Follow-ups', 'Team', 'Prices']],
    [DEMO.office, '/inbox', ['Leads', 'Schedule', 'Sync']],
  ] as const) {
    await page.context().clearCookies();
    await signIn(page, server.url, email);
    await expect(page).toHaveURL(new RegExp(`${home}$`));
    const nav = page.getByRole('navigation', { name: 'Main' });
    await expect(nav.getByRole('link')).toHaveText(tabs.map((t) => new RegExp(t)));
    await expect(page.getByText('Demo Heating & Plumbing')).toBeVisible();
  }
});

test('a manager adds a technician from the Team tab', async ({ page }) => {
  server = await startServer();
  await signIn(page, server.url, DEMO.manager);
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Team/ }).click();
  await expect(page.getByTestId('team-list')).toContainText('Marcus Bell');

  const form = page.getByTestId('add-user-form');
  await form.getByLabel('Name').fill('Nia Brooks');
  await form.getByLabel('Email').fill(`nia.${Date.now()}@demo.fieldclose.test`);
  await form.getByLabel(/First password/).fill('short');
  await form.getByRole('button', { name: 'Add person' }).click();
  await expect(form.getByRole('alert')).toContainText('password: must be at least 12 characters');

  await form.getByLabel(/First password/).fill('a good long password');
  await form.getByRole('button', { name: 'Add person' }).click();
  await expect(form.getByRole('status')).toContainText('Added Nia Brooks (Technician)');
  await expect(page.getByTestId('team-list')).toContainText('Nia Brooks');
});

test('after one online visit the app opens from a cold start with no network', async () => {
  server = await startServer();
  const profile = mkdtempSync(join(tmpdir(), 'fieldclose-e2e-'));
  const launch = { ...chromiumLaunch, headless: true, viewport: { width: 360, height: 740 } };
  try {
    // Online: sign in as the demo technician; the service worker installs and caches the tabs.
    let context = await chromium.launchPersistentContext(profile, launch);
    let page = context.pages()[0] ?? (await context.newPage());
    await signIn(page, server.url, DEMO.tech);
    await expect(page).toHaveURL(/\/today$/);
    await hydrated(page);
    const registered = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration('/');
      return !!reg && !!(reg.active || reg.waiting || reg.installing);
    });
    expect(registered).toBe(true);
    await expect(page.locator('html[data-offline-ready]')).toHaveCount(1);

    // Airplane mode: the server is gone (so the worker's own fetches fail too) and the browser
    // is offline. Reload in place first.
    await server.stop();
    // First the network is up but Fieldclose is not: the badge and the Sync tab say so, and
    // neither calls it "Online".
    const tabs = page.getByRole('navigation', { name: 'Main' });
    await tabs.getByRole('link', { name: /Sync/ }).click();
    await page.getByRole('button', { name: 'Sync now' }).click();
    await expect(page.getByTestId('sync-badge')).toContainText("Can't reach Fieldclose");
    await expect(page.getByTestId('connection')).toContainText('cannot reach Fieldclose');
    await tabs.getByRole('link', { name: /Today/ }).click();
    await context.setOffline(true);
    await page.reload();
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'Today', exact: true })).toBeVisible();
    await expect(page.getByTestId('sync-badge')).toContainText('Offline');

    // Then a true cold start: the browser closes and opens again, still without a network.
    await context.close();
    context = await chromium.launchPersistentContext(profile, { ...launch, offline: true });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${server.url}/`);
    await expect(page).toHaveURL(/\/today$/);
    await hydrated(page);
    await expect(page.getByText('Demo Heating & Plumbing')).toBeVisible();

    // The tabs navigate without a network.
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: /Sync/ }).click();
    await expect(page).toHaveURL(/\/sync$/);
    await expect(page.getByRole('heading', { name: 'Sync' })).toBeVisible();
    await expect(page.getByTestId('offline-copy')).toBeVisible();
    await nav.getByRole('link', { name: /New/ }).click();
    await expect(page.getByRole('heading', { name: 'New consultation' })).toBeVisible();
    await nav.getByRole('link', { name: /Today/ }).click();
    await expect(page.getByRole('heading', { name: 'Today', exact: true })).toBeVisible();
    await context.close();
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});

test("a technician's pages are in the first load's reach: their code loads after the first screen, without the service worker", async ({
  browser,
}) => {
  server = await startServer();
  // No service worker at all: the page itself must have fetched the code of the other pages.
  const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  await signIn(page, server.url, DEMO.tech);
  await expect(page).toHaveURL(/\/today$/);
  await hydrated(page);
  const loaded = () =>
    page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name.split('/').pop() ?? ''));
  // The first screen needs none of them; they come right after it: the consultation's pages
  // (New, Visit) and the person's own (My day, Sync), two chunk entries (`pages::lazy_page_groups!`).
  await expect.poll(async () => (await loaded()).filter((n) => /^split_(field|own)_pages_/.test(n)).length)
    .toBe(2);
  await server.stop();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  await expect(page.getByRole('heading', { name: 'New consultation' })).toBeVisible();
  await context.close();
});

test("a page whose code cannot be fetched waits for signal instead of breaking the app", async ({ browser }) => {
  server = await startServer();
  // No service worker, and every lazy page's code refused: a first visit that lost signal right
  // after the first screen, before the other pages' code arrived.
  const context = await browser.newContext({ serviceWorkers: 'block', viewport: { width: 360, height: 740 } });
  let refused = 0;
  let blocked = true;
  await context.route(/\/pkg\/(split_|chunk_)[^/]*\.wasm$/, (route) => {
    if (!blocked) return route.continue();
    refused += 1;
    return route.abort('internetdisconnected');
  });
  const page = await context.newPage();
  const crashes: string[] = [];
  page.on('pageerror', (e) => crashes.push(e.message));
  await signIn(page, server.url, DEMO.tech);
  await expect(page).toHaveURL(/\/today$/);
  await hydrated(page);
  await expect.poll(() => refused).toBeGreaterThan(0);
  // The first screen still works: the search box filters the list.
  await page.getByTestId('search').fill('no such customer anywhere');
  await expect(page.getByTestId('consultation')).toHaveCount(0);
  await page.getByTestId('search').fill('');
  // Opening a page whose code is missing says so, and opens once the code arrives.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  await expect(page.getByTestId('code-waiting')).toBeVisible();
  blocked = false;
  await expect(page.getByRole('heading', { name: 'New consultation' })).toBeVisible({ timeout: 15_000 });
  await expect(page.getByTestId('code-waiting')).toBeHidden();
  expect(crashes).toEqual([]);
  await context.close();
});

