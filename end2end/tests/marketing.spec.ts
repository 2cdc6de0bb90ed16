// A manager enters a month's marketing spend in Settings, sees it divided by the leads it bought
// on the reports page, and chooses which notices reach them on their account page.
import { test, expect } from './guard';
import { startServer, signIn, hydrated, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

const phone = { viewport: { width: 360, height: 740 }, hasTouch: true };

test('spend entered in Settings shows as cost per lead on the reports page', async ({ browser }) => {
  test.setTimeout(180_000);
  server = await startServer();
  const ctx = await browser.newContext(phone);
  const page = await ctx.newPage();
  await signIn(page, server.url, DEMO.manager);
  await page.goto(`${server.url}/settings`);
  await hydrated(page);
  const card = page.getByTestId('marketing-spend');
  const month = new Date().toISOString().slice(0, 7);
  await card.getByLabel('Month', { exact: true }).fill(month);
  await card.getByLabel('Source', { exact: true }).selectOption('website');
  await card.getByLabel('Amount ($)').fill('1,500');
  await card.getByRole('button', { name: 'Save spend' }).click();
  await expect(card.getByRole('status')).toContainText(`Saved: $1,500.00 Website for ${month}`);
  await expect(card.getByTestId('spend-rows')).toContainText('$1,500.00');
  // A bad amount is refused on the device, with its reason, and nothing is sent.
  await card.getByLabel('Amount ($)').fill('lots');
  await card.getByRole('button', { name: 'Save spend' }).click();
  await expect(card.getByRole('alert')).toContainText('amount');

  await page.goto(`${server.url}/reports`);
  const website = page.getByTestId('marketing').locator('tr', { has: page.locator('th', { hasText: /^website$/ }) });
  await expect(website).toContainText('$1,500');
  // The demo's website leads this year: a cost per lead is shown, not a dash.
  await expect(website.locator('td').nth(2)).toContainText('$');
  // Charts read on a phone: a tapped point says its period and value.
  const trend = page.locator('figure.trend').first();
  await trend.locator('circle.tap').first().click({ force: true });
  await expect(trend.locator('.tap-value')).toHaveText(/^[A-Z][a-z]{2} \d{1,2}: .+/);
  const curve = page.locator('section[aria-labelledby="h-curve"] figure');
  await curve.locator('circle.tap').last().click({ force: true });
  await expect(curve.locator('.tap-value')).toHaveText(/^Day \d+: [\d.]+% closed$/);

  // Notices: the manager's kinds, saved for all their devices.
  await page.goto(`${server.url}/account`);
  await hydrated(page);
  const notices = page.getByTestId('notifications');
  await expect(notices.getByLabel(/new website lead/)).toBeChecked();
  await expect(notices.getByLabel(/visit is booked/)).toHaveCount(0);
  await notices.getByLabel(/new website lead/).uncheck();
  await expect(notices.getByRole('status')).toContainText('Saved');
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('notifications').getByLabel(/new website lead/)).not.toBeChecked();
});
