// A device's first visit: the page comes with its first screen's rows (ADR 0058), so the
// technician's Today and the rep's queue show work before the first sync has brought anything,
// hydrate over the same rows without a mismatch (the guard fails on any console error), and
// give way to the device's own records once it has synced; later pages come without rows.
import { test, expect } from './guard';
import { startServer, signIn, hydrated, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('a first visit shows the work at once, before its first sync', async ({ page }) => {
  server = await startServer();
  // No pull gets through: what the page shows came with it.
  await page.route('**/api/sync/pull', (route) => route.abort());
  await signIn(page, server.url, DEMO.tech);
  await expect(page).toHaveURL(/\/today$/);
  await hydrated(page);
  const rows = page.getByTestId('consultation');
  await expect(rows.first()).toBeVisible();
  expect(await rows.count()).toBe(20);
  const first = await rows.first().locator('strong').innerText();
  // Said where the person looks: the work is not on the phone yet.
  await expect(page.getByTestId('first-sync')).toBeVisible();

  // The first sync goes through: the device's own records take over, the same work on top.
  await page.unroute('**/api/sync/pull');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Sync/ }).click();
  await page.getByRole('button', { name: /Sync now/ }).click();
  await expect(page.getByTestId('last-synced')).not.toContainText('never', { timeout: 60_000 });
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Today/ }).click();
  await expect(rows.first().locator('strong')).toHaveText(first);
  await expect(page.getByTestId('first-sync')).toHaveCount(0);

  // The device has synced: pages come without rows, and Today opens from the device.
  await expect.poll(async () => (await page.context().cookies()).some((c) => c.name === 'fc_synced')).toBe(true);
  const html = await (await page.request.get(server.url + '/today')).text();
  expect(html).not.toContain('fc-first-screen');
  await page.reload();
  await hydrated(page);
  await expect(rows.first().locator('strong')).toHaveText(first);

  // Work older than the device keeps (the demo has a year of it) is found on the server, through
  // the device's lazy code, and listed with the device's own.
  await page.getByTestId('search').fill('Lee');
  await page.getByTestId('search-older').getByRole('button', { name: 'Search older work on the server' }).click();
  await expect(page.getByTestId('search-older').getByRole('status')).toContainText(/\d+ found on the server/, {
    timeout: 30_000,
  });
  await expect(rows.filter({ hasText: 'Lee' }).first()).toBeVisible();
});

test("a rep's first visit shows the queue at once, and what a quote is worth once the device knows", async ({
  page,
}) => {
  server = await startServer();
  await page.route('**/api/sync/pull', (route) => route.abort());
  await signIn(page, server.url, DEMO.rep);
  await expect(page).toHaveURL(/\/queue$/);
  await hydrated(page);
  const row = page.getByTestId('queue-row').first();
  await expect(row).toBeVisible();
  // The close rates behind "worth about" need every decided consultation: not on the device yet.
  await expect(row).not.toContainText('worth about');

  await page.unroute('**/api/sync/pull');
  await page.reload();
  await hydrated(page);
  await expect(row).toContainText('worth about', { timeout: 60_000 });
});

test('a consultation opened on a first visit shows at once', async ({ page, browser }) => {
  server = await startServer();
  await signIn(page, server.url, DEMO.tech);
  await hydrated(page);
  const link = page.getByTestId('consultation').first().locator('a.row-link');
  const href = (await link.getAttribute('href'))!;
  const customer = await link.innerText();

  // Another phone of the same person, which has never synced, opens it with no pull getting through.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const other = await phone.newPage();
  await other.route('**/api/sync/pull', (route) => route.abort());
  await signIn(other, server.url, DEMO.tech);
  await other.goto(server.url + href);
  await hydrated(other);
  await expect(other.getByText(customer).first()).toBeVisible();
  await expect(other.getByText('Consultation not on this device')).toHaveCount(0);
  await phone.close();
});
