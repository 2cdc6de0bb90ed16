import { test, expect } from '@playwright/test';
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
