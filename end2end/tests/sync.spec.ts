import { test, expect } from './guard';
import { startServer, signIn, hydrated, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('a consultation made offline survives a reload and reaches a manager after sync', async ({ browser }) => {
  server = await startServer();
  const phone = { viewport: { width: 360, height: 740 } };
  const tech = await browser.newContext(phone);
  const page = await tech.newPage();
  await signIn(page, server.url, DEMO.tech);
  await expect(page).toHaveURL(/\/today$/);
  await hydrated(page);
  await expect(page.locator('html[data-offline-ready]')).toHaveCount(1);
  const customer = `Offline Customer ${Date.now()}`;

  // No signal: the page and (through it) the engine are cut off.
  await tech.setOffline(true);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  const form = page.getByTestId('new-consultation');
  await form.getByLabel('Customer name').fill(customer);
  await form.getByLabel('Phone').fill('(737) 555-0199');
  // The first step is kept as typed: a reload with no signal loses nothing.
  await page.reload();
  await hydrated(page);
  await expect(form.getByLabel('Customer name')).toHaveValue(customer);
  await expect(form.getByLabel('Phone')).toHaveValue('(737) 555-0199');
  await form.getByLabel('How they found us').selectOption('referral');
  await form.getByLabel('Problem').fill('Water heater leaking in the basement');
  await form.getByRole('button', { name: 'Save and continue' }).click();

  // Saved: the visit goes on to the home step; Today lists it, not yet synced.
  await expect(page).toHaveURL(/\/visit\?id=.*&step=home$/);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Today/ }).click();
  const row = page.getByTestId('consultation').filter({ hasText: customer });
  await expect(row).toHaveAttribute('data-pending', 'true');
  // Customer, lead, consultation, the visit (first contact) and "held".
  await expect(page.getByTestId('badge-pending')).toContainText('5 pending');

  // Signing out now would strand the changes on this device: the app asks first.
  let warning = '';
  page.once('dialog', async (d) => {
    warning = d.message();
    await d.dismiss();
  });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect.poll(() => warning).toContain('5 change(s) have not been sent yet');
  await expect(page).toHaveURL(/\/today$/);

  // A reload with no network: the app comes from the service worker, the work from IndexedDB.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('consultation').filter({ hasText: customer })).toHaveAttribute('data-pending', 'true');
  await expect(page.getByTestId('sync-badge')).toContainText('Offline');

  // Signal again: it syncs by itself.
  await tech.setOffline(false);
  await expect(page.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 30_000 });
  await expect(page.getByTestId('consultation').filter({ hasText: customer })).toHaveAttribute('data-pending', 'false');

  // A second device: the manager's, in a fresh browser context.
  const office = await browser.newContext();
  const managerPage = await office.newPage();
  await signIn(managerPage, server.url, DEMO.manager);
  await expect(managerPage).toHaveURL(/\/dashboard$/);
  await expect(managerPage.getByTestId('consultation').filter({ hasText: customer })).toBeVisible({ timeout: 30_000 });
  await expect(managerPage.getByTestId('consultation').filter({ hasText: customer })).toContainText('Water heater leaking');

  // Everything sent: signing out of a shared tablet leaves none of the technician's records.
  const rowsOnDevice = () =>
    page.evaluate(async () => {
      const names = (await indexedDB.databases()).map((d) => d.name!).filter((n) => n.startsWith('fieldclose-'));
      let rows = 0;
      for (const name of names) {
        const db = await new Promise<IDBDatabase>((ok, no) => {
          const r = indexedDB.open(name);
          r.onsuccess = () => ok(r.result);
          r.onerror = () => no(r.error);
        });
        if (db.objectStoreNames.contains('rows')) {
          rows += await new Promise<number>((ok) => {
            const r = db.transaction('rows').objectStore('rows').count();
            r.onsuccess = () => ok(r.result);
          });
        }
        db.close();
      }
      return { databases: names.length, rows };
    });
  expect((await rowsOnDevice()).rows).toBeGreaterThan(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  const left = await rowsOnDevice();
  expect(left.databases).toBeGreaterThan(0);
  expect(left.rows).toBe(0);
  await tech.close();
  await office.close();
});
