import { test, expect } from '@playwright/test';
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
  await expect(page.getByRole('status')).toContainText('$4,875.50');
  await expect(page.getByTestId('price-book-list')).toContainText(name);

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
  await phone.close();
});
