// A manager opens the close-probability page from the reports: it says whether the model is
// used (and why not, when it falls back to the base rate), with the held-out evidence, and lists
// the open quotes by expected value with what moved each one's chance; then the coaching view,
// the process map and the quarterly review. A technician opens their own coaching from My day.
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
  expect(await effects.locator('tbody tr').count()).toBeGreaterThanOrEqual(3);
  await expect(effects.locator('tbody tr').first()).toContainText(/Real|Could be chance/);
  await expect(page.getByTestId('technicians').locator('article').first()).toContainText(/visits/);
  // A technician has no such page: the app instead.
  const tech = await (await browser.newContext(phone)).newPage();
  await signIn(tech, server.url, DEMO.tech);
  await tech.goto(`${server.url}/reports/close-model`);
  await expect(tech).not.toHaveURL(/close-model/);
  // Their own coaching, from My day: only their figures, and the company's effects.
  await tech.goto(`${server.url}/day`);
  await tech.getByTestId('my-coaching').click();
  await expect(tech.getByRole('heading', { level: 1 })).toContainText('Your coaching');
  await expect(tech.getByTestId('my-opportunities')).toContainText(/visits held|No visits of yours/);
  await expect(tech.getByTestId('effects')).toContainText('not proof of a cause');
});

test('the process map draws the demo year with its leaks, filtered like the dashboard, and the quarterly review prints', async ({ browser }) => {
  test.setTimeout(120_000);
  server = await startServer();
  const page = await (await browser.newContext(phone)).newPage();
  await signIn(page, server.url, DEMO.manager);
  await page.goto(`${server.url}/reports`);
  await page.getByRole('link', { name: 'process map' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Process map');
  const map = page.locator('svg.process');
  await expect(map).toBeVisible();
  // The demo's leads start with their creation and most reach a visit: both boxes are drawn.
  await expect(map.locator('.node-name', { hasText: 'Lead created' })).toHaveCount(1);
  await expect(map.locator('.node-name', { hasText: 'Visit held' })).toHaveCount(1);
  await expect(map.locator('path.edge.main').first()).toBeAttached();
  await expect(page.getByTestId('main-path')).toContainText(/Main path: Lead created → /);
  await expect(page.getByTestId('leaks').locator('tbody tr')).toHaveCount(4);
  await expect(page.getByTestId('bottleneck')).toContainText(/Bottleneck: |No bottleneck/);
  const steps = page.getByTestId('edges').locator('tbody tr');
  expect(await steps.count()).toBeGreaterThan(3);
  // The dashboard's filters: one source's leads only, fewer than all.
  const all = Number((await page.getByTestId('main-path').textContent())!.match(/^(\d+) leads/)![1]);
  const source = page.locator('select[name=source]');
  const first = await source.locator('option').nth(1).getAttribute('value') ?? await source.locator('option').nth(1).textContent();
  await source.selectOption({ index: 1 });
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/process-map\?.*source=/);
  await expect(source).toHaveValue(first!);
  const some = Number((await page.getByTestId('main-path').textContent())!.match(/^(\d+) leads/)![1]);
  expect(some).toBeGreaterThan(0);
  expect(some).toBeLessThan(all);
  // The quarterly review: two quarters side by side, the map, and it prints.
  await page.goto(`${server.url}/reports`);
  await page.getByRole('link', { name: 'quarterly review' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(/Quarterly review, Q[1-4] \d{4}/);
  await expect(page.getByTestId('quarter-headline').locator('tbody tr')).toHaveCount(6);
  await expect(page.getByTestId('quarter-map').locator('svg')).toBeVisible();
  await page.emulateMedia({ media: 'print' });
  await expect(page.locator('header a')).toBeHidden();
});
