import { test, expect } from './guard';
import { startServer, signIn, hydrated, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('a manager adds a price book item; a technician, offline, quotes it in a new consultation', async ({
  page,
  browser,
}) => {
  server = await startServer();
  await signIn(page, server.url, DEMO.manager);
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Prices/ }).click();
  const name = `Ductless mini-split ${Date.now()}`;
  const form = page.getByTestId('item-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('SKU').fill(`MS-${Date.now()}`);
  await form.getByLabel('Service').selectOption('hvac');
  await form.getByLabel('Price ($)').fill('4,875.50');
  await form.getByLabel(/Most a technician may discount/).fill('5');
  await form.getByRole('button', { name: 'Save item' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved' })).toContainText('$4,875.50');
  await expect(page.getByTestId('price-book-list')).toContainText(name);

  // A "better" option template with two of it.
  const templates = page.getByTestId('template-form');
  const bundle = `Two-zone comfort ${Date.now()}`;
  await templates.getByLabel('Service').selectOption('hvac');
  await templates.getByLabel('Tier').selectOption('better');
  await templates.getByLabel('Name').fill(bundle);
  await templates.getByLabel(new RegExp(name)).fill('2');
  await templates.getByLabel(new RegExp(name)).press('Tab');
  await templates.getByRole('button', { name: 'Save template' }).click();
  await expect(templates.getByRole('status')).toContainText(`Saved ${bundle}`);
  await expect(page.getByTestId('template-list')).toContainText(bundle);

  // A financing plan of their own lender.
  const lender = `Prairie Credit ${Date.now()}`;
  const plans = page.getByTestId('plan-form');
  await plans.getByLabel('Lender').fill(lender);
  await plans.getByLabel('APR (%)').fill('6.99');
  await plans.getByLabel('Months', { exact: true }).fill('36');
  await plans.getByRole('button', { name: 'Save plan' }).click();
  await expect(plans.getByRole('status')).toContainText(`${lender} · 36 months, 6.99% APR`);

  // The technician's phone syncs once, then goes into a basement.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const tech = await phone.newPage();
  await signIn(tech, server.url, DEMO.tech);
  await hydrated(tech);
  await expect(tech.getByTestId('badge-pending')).toContainText('0 pending');
  await tech.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Sync/ }).click();
  await expect(tech.getByTestId('last-synced')).not.toHaveText('never', { timeout: 30_000 });
  await phone.setOffline(true);

  await tech.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  await tech.getByLabel('Customer name').fill(`Basement ${Date.now()}`);
  await tech.getByRole('button', { name: 'Save and continue' }).click();
  await expect(tech).toHaveURL(/step=home/);
  await tech.getByRole('link', { name: 'Next: checklist' }).click();
  await tech.getByRole('link', { name: 'Next: options' }).click();
  await tech.getByTestId('add-option').click();
  const option = tech.getByTestId('option').nth(0);
  await option.getByLabel('Search the price book').fill('mini-split');
  await expect(option.getByTestId('price-book-results')).toContainText(name);
  await option.getByTestId('price-book-results').getByRole('button', { name: new RegExp(name) }).click();
  await expect(option.getByTestId('option-total')).toHaveText('$4,875.50');
  // Financed on the company's own plan, the payment worked out offline: $4,875.50 at 6.99% over 36 months.
  await option.getByLabel('Financing').selectOption({ label: `${lender} · 36 months, 6.99% APR` });
  await expect(option.getByTestId('monthly')).toHaveText('or $150.52 a month');

  // Or starts from the company's template: two of them, at today's price.
  await tech.getByTestId('option-templates').getByRole('button', { name: new RegExp(bundle) }).click();
  await expect(tech.getByTestId('option')).toHaveCount(2);
  await expect(tech.getByTestId('option').nth(1).getByTestId('option-total')).toHaveText('$9,751.00');
  await phone.close();
});
