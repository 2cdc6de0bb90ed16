import { test, expect, Page, Browser } from './guard';
import { readFileSync } from 'node:fs';
import { startServer, signIn, hydrated, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('a manager invites a technician by link; the technician joins from another browser and lands on Today', async ({
  page,
  browser,
}) => {
  server = await startServer();
  await signIn(page, server.url, DEMO.manager);
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Team/ }).click();
  const invites = page.getByTestId('invite-form');
  await invites.getByLabel('Role').selectOption('technician');
  await invites.getByRole('button', { name: 'Make an invite link' }).click();
  const link = await invites.getByTestId('invite-link').inputValue();
  expect(link).toContain('/join?token=');
  await expect(invites.locator('.qr svg')).toBeVisible();
  await expect(page.getByTestId('open-invites')).toContainText('Technician');

  // The technician's phone: a browser of its own, never signed in.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const tech = await phone.newPage();
  await tech.goto(link);
  await hydrated(tech);
  await expect(tech.getByTestId('invite-for')).toContainText('as a technician');
  const form = tech.getByTestId('join-form');
  await form.getByLabel('Your name').fill('Tess Tech');
  await form.getByLabel('Your email').fill(`tess.${Date.now()}@demo.fieldclose.test`);
  await form.getByLabel('Password').fill('warm quotes in cold basements');
  await form.getByRole('button', { name: 'Join' }).click();
  await expect(tech).toHaveURL(/\/today\?welcome=1$/);
  await expect(tech.locator('#fc-install')).toContainText('Welcome');

  // The link worked once.
  const again = await phone.newPage();
  await phone.clearCookies();
  await again.goto(link);
  await hydrated(again);
  await expect(again.getByRole('alert')).toContainText('already used');
  await phone.close();
});

/// The manager (signed in on `page`) invites a technician, who joins in a phone context of its own.
async function inviteTechnician(page: Page, browser: Browser, name: string) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Team/ }).click();
  const invites = page.getByTestId('invite-form');
  await invites.getByLabel('Role').selectOption('technician');
  await invites.getByRole('button', { name: 'Make an invite link' }).click();
  const link = await invites.getByTestId('invite-link').inputValue();
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const tech = await phone.newPage();
  await tech.goto(link);
  const form = tech.getByTestId('join-form');
  await form.getByLabel('Your name').fill(name);
  await form.getByLabel('Your email').fill(`${name.split(' ')[0].toLowerCase()}.${Date.now()}@demo.fieldclose.test`);
  await form.getByLabel('Password').fill('warm quotes in cold basements');
  await form.getByRole('button', { name: 'Join' }).click();
  await expect(tech).toHaveURL(/\/today/);
  await hydrated(tech);
  await tech.locator('#fc-install').getByRole('button', { name: 'Not now' }).click();
  return { phone, tech };
}

test('a deactivated technician is refused at the next sync, keeps the unsent work, and can download it', async ({
  page,
  browser,
}) => {
  server = await startServer();
  await signIn(page, server.url, DEMO.manager);
  await hydrated(page);
  // A name of its own per run: the e2e database keeps earlier runs' people.
  const surname = Array.from({ length: 6 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
  const name = `Dana ${surname}`;
  const { phone, tech } = await inviteTechnician(page, browser, name);

  // In a basement: a new consultation saved on the device only.
  await phone.setOffline(true);
  const customer = `Unsent ${Date.now()}`;
  await tech.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  await tech.getByLabel('Customer name').fill(customer);
  await tech.getByRole('button', { name: 'Save and continue' }).click();
  await expect(tech).toHaveURL(/step=home/);

  // Meanwhile the manager deactivates them.
  await page.reload();
  await hydrated(page);
  const row = page.getByTestId('member').filter({ hasText: name });
  await row.getByRole('button', { name: 'Deactivate' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'is deactivated' })).toContainText('Signed out on 1 device');
  await expect(row).toContainText('deactivated');

  // Back in signal: a clear refusal, and nothing typed is lost. (The phone's page comes to the
  // front: a page behind another gets no animation frames, which clicks wait for.)
  await tech.bringToFront();
  await phone.setOffline(false);
  await tech.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Sync/ }).click();
  await tech.getByRole('button', { name: 'Sync now' }).click();
  await expect(tech.getByTestId('sync-status').getByRole('alert')).toContainText('Sign in', { timeout: 30_000 });
  await expect(tech.getByTestId('pending-count')).not.toHaveText('0 changes');
  const download = tech.waitForEvent('download');
  await tech.getByTestId('export-unsent').click();
  const file = await (await download).path();
  expect(readFileSync(file, 'utf8')).toContain(customer);
  await phone.close();
});
