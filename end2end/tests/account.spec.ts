// Passwords without the office: a manager's one-time reset link opened on the person's own
// phone, and everyone changing their own password from /account.
import { test, expect, request } from './guard';
import { startServer, signIn, hydrated, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('a reset link sets a new password once; the person then changes it on their account page', async ({
  page,
  browser,
}) => {
  server = await startServer();
  const run = Date.now();
  const owner = { email: `owner.${run}@reset.test`, password: 'cold basements need warm quotes' };
  const tech = { name: 'Rae Tech', email: `rae.${run}@reset.test` };

  // A company of its own, with a technician whose password nobody remembers.
  const api = await request.newContext({ baseURL: server.url });
  const signup = await api.post('/api/signup', {
    data: { company_name: `Reset Co ${run}`, trades: ['hvac'], time_zone: 'America/Chicago', name: 'Ora Owner',
            email: owner.email, password: owner.password, starter: false },
  });
  expect(signup.status()).toBe(201);
  const added = await api.post('/api/users', {
    data: { name: tech.name, email: tech.email, role: 'technician', password: 'forgotten correct horse battery' },
  });
  expect(added.status()).toBe(201);
  await api.dispose();

  // The manager makes a one-time link.
  await signIn(page, server.url, owner.email, owner.password);
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Team/ }).click();
  await page.getByTestId('member').filter({ hasText: tech.name }).getByRole('button', { name: 'Password reset link' }).click();
  const link = await page.getByTestId('reset-link').inputValue();
  expect(link).toContain('/reset?token=');

  // The technician opens it on their phone: a weak password is refused with its reason, then a good one signs them in.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const mine = await phone.newPage();
  await mine.goto(link);
  await mine.getByLabel('New password').fill('password1234');
  await mine.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(mine.getByRole('alert')).toContainText('password');
  await mine.getByLabel('New password').fill('a reset link in a cold basement');
  await mine.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(mine).toHaveURL(/\/today/);
  await hydrated(mine);

  // The link worked once.
  const again = await phone.newPage();
  await again.goto(link);
  await again.getByLabel('New password').fill('another long enough passphrase');
  await again.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(again.getByRole('alert')).toContainText('no longer works');
  await again.close();

  // On their account page: the wrong current password is refused; the right one changes it.
  await mine.locator('a.who').click();
  await expect(mine).toHaveURL(/\/account$/);
  await hydrated(mine);
  const form = mine.getByTestId('password-form');
  await form.getByLabel('Current password').fill('not my password at all');
  await form.getByLabel(/New password/).fill('my own phrase for the truck');
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(form.getByRole('alert')).toBeVisible();
  await form.getByLabel('Current password').fill('a reset link in a cold basement');
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(form.getByRole('status')).toContainText('Changed');

  // The new password signs in.
  const fresh = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const later = await fresh.newPage();
  await signIn(later, server.url, tech.email, 'my own phrase for the truck');
  await expect(later).toHaveURL(/\/today/);
  await fresh.close();
  await phone.close();
});
