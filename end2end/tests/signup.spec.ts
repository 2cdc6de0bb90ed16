import { test, expect } from './guard';
import { startServer, hydrated, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('a stranger signs a company up, fixes a refused password, and lands on the get-started list', async ({
  page,
}) => {
  server = await startServer();
  await page.goto(`${server.url}/login`);
  await page.getByRole('link', { name: 'Sign up your company' }).click();
  await expect(page).toHaveURL(/\/signup$/);
  await hydrated(page);
  // The time zone is the browser's own (Playwright's default, from the machine).
  await expect(page.getByLabel('Time zone')).not.toHaveValue('');

  const form = page.getByTestId('signup-form');
  const email = `owner.${Date.now()}@polar.test`;
  await form.getByLabel('Company name').fill('Polar Air');
  await form.getByLabel('HVAC').check();
  await form.getByLabel('Plumbing').check();
  await form.getByLabel('Time zone').fill('America/Denver');
  await form.getByLabel('Your name').fill('Pat Owner');
  await form.getByLabel('Your email').fill(email);
  await form.getByLabel('Password').fill('password1234');
  await form.getByRole('button', { name: 'Sign up' }).click();

  // Refused with its reason; what was typed is still there (not the password).
  await expect(page.getByRole('alert')).toContainText('password');
  await expect(form.getByLabel('Company name')).toHaveValue('Polar Air');
  await expect(form.getByLabel('Your email')).toHaveValue(email);
  await expect(form.getByLabel('HVAC')).toBeChecked();
  await expect(form.getByLabel('Electrical')).not.toBeChecked();

  await form.getByLabel('Password').fill('cold basements need warm quotes');
  await form.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/start$/);
  const steps = page.getByTestId('get-started');
  await expect(steps).toContainText('nobody yet');
  await expect(steps).toContainText(/Your price book: \d+ items/);
  await expect(steps).toContainText(/checklist: \d+ steps/);
  await expect(page.locator('header')).toContainText('Polar Air');

  // Their targets: a close-rate goal of their own.
  await page.getByRole('link', { name: 'Set your targets' }).click();
  const settings = page.getByTestId('settings-form');
  await expect(settings.getByLabel('Close rate target (%)')).toHaveValue('60');
  await settings.getByLabel('Close rate target (%)').fill('65');
  await settings.getByLabel('Follow up after the visit on days').fill('1, 2, 5');
  await settings.getByLabel('Counts as a sale from ($): HVAC').fill('500');
  await settings.getByRole('button', { name: 'Save' }).click();
  await expect(settings.getByRole('status')).toContainText('Saved');
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('settings-form').getByLabel('Close rate target (%)')).toHaveValue('65');
  await expect(page.getByTestId('settings-form').getByLabel('Counts as a sale from ($): HVAC')).toHaveValue('500.00');

  // The company profile: a new name and zone; a bad zone is refused by name first.
  const profile = page.getByTestId('company-form');
  await expect(profile.getByLabel('Company name')).toHaveValue('Polar Air');
  await profile.getByLabel('Company name').fill('Polar Air & Plumbing');
  await profile.getByLabel(/Time zone/).fill('Mars/Olympus');
  await profile.getByRole('button', { name: 'Save profile' }).click();
  await expect(profile.getByRole('alert')).toContainText('time zone');
  await profile.getByLabel(/Time zone/).fill('America/Chicago');
  await profile.getByRole('button', { name: 'Save profile' }).click();
  await expect(profile.getByRole('status')).toContainText('Saved');
  await page.reload();
  await expect(page.locator('header')).toContainText('Polar Air & Plumbing');
});
