// A manager opens the close-probability page from the reports: it says whether the model is
// used (and why not, when it falls back to the base rate), with the held-out evidence, and lists
// the open quotes by expected value with what moved each one's chance; then the coaching view.
import { test, expect } from './guard';
import { startServer, signIn, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

const phone = { viewport: { width: 360, height: 740 }, hasTouch: true };

test('the close-probability page shows its evidence and the open quotes by value', async ({ browser }) => {
  test.setTimeout(120_000);
  server = await startServer();
  const ctx = await browser.newContext(phone);
  const page = await ctx.newPage();
  await signIn(page, server.url, DEMO.manager);
  await page.goto(`${server.url}/reports`);
  await page.getByRole('link', { name: 'close probability' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Close probability');
  const card = page.getByTestId('model-card');
  const verdict = card.locator('.verdict');
  await expect(verdict).toHaveText(/^(Yes: scores come from the model|No: every open quote gets the base rate)/);
  // The demo's year of history has enough decisions to judge a model on: the held-out check and
  // the calibration table are shown, used or not.
  await expect(card.getByRole('row', { name: /AUC/ })).toBeVisible();
  await expect(card.getByTestId('calibration').locator('tbody tr')).toHaveCount(10);
  const quotes = page.getByTestId('open-quotes');
  await expect(quotes).toContainText(/\d+ open quotes, worth \$[\d,]+/);
  const first = quotes.locator('tbody tr').first();
  await expect(first.locator('td').nth(2)).toHaveText(/^\d+\.\d%$/);
  if ((await verdict.textContent())!.startsWith('Yes')) {
    await expect(first.locator('td').last()).toContainText('points');
  } else {
    await expect(first.locator('td').last()).toHaveText('the base rate');
  }
  // The coaching view, from the reports too: each behaviour's effect with its verdict, and
  // each technician's opportunities (or that nothing stands out).
  await page.goto(`${server.url}/reports`);
  await page.getByRole('link', { name: 'coaching' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Coaching');
  const effects = page.getByTestId('effects');
  await expect(effects).toContainText('not proof of a cause');
  await expect(effects.locator('tbody tr')).toHaveCount(2);
  await expect(effects.locator('tbody tr').first()).toContainText(/Real|Could be chance/);
  await expect(page.getByTestId('technicians').locator('article').first()).toContainText(/visits/);
  // A technician has no such page: the app instead.
  const tech = await (await browser.newContext(phone)).newPage();
  await signIn(tech, server.url, DEMO.tech);
  await tech.goto(`${server.url}/reports/close-model`);
  await expect(tech).not.toHaveURL(/close-model/);
});
