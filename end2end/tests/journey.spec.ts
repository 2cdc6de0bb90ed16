// A real company's first day, start to finish, at 360 px: a stranger signs the company up,
// invites a technician (who joins from their own phone), adds a price book item and a
// checklist step; the technician, offline, sees both in a new consultation and captures it;
// back online, the manager finds it in the audit trail and on the dashboard.
import { test, expect } from './guard';
import { startServer, hydrated, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

test('sign up → invite → price book and checklist → offline capture → audit trail and dashboard', async ({
  page,
  browser,
}) => {
  test.setTimeout(240_000);
  server = await startServer();
  const run = Date.now();

  // 1. A stranger signs the company up (starting from the starter book and checklist).
  await page.goto(`${server.url}/signup`);
  await hydrated(page);
  const signup = page.getByTestId('signup-form');
  await signup.getByLabel('Company name').fill(`Journey Comfort ${run}`);
  await signup.getByLabel('HVAC').check();
  await signup.getByLabel('Time zone').fill('America/Chicago');
  await signup.getByLabel('Your name').fill('Jo Owner');
  await signup.getByLabel('Your email').fill(`jo.${run}@journey.test`);
  await signup.getByLabel('Password').fill('cold basements need warm quotes');
  await signup.getByRole('button', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/start$/);
  await hydrated(page);

  // 2. They invite a technician, who joins on a phone of their own.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Team/ }).click();
  const invites = page.getByTestId('invite-form');
  await invites.getByLabel('Role').selectOption('technician');
  await invites.getByRole('button', { name: 'Make an invite link' }).click();
  const link = await invites.getByTestId('invite-link').inputValue();
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const tech = await phone.newPage();
  await tech.goto(link);
  await hydrated(tech);
  const join = tech.getByTestId('join-form');
  await join.getByLabel('Your name').fill('Tam Tech');
  await join.getByLabel('Your email').fill(`tam.${run}@journey.test`);
  await join.getByLabel('Password').fill('warm quotes in cold basements');
  await join.getByRole('button', { name: 'Join' }).click();
  await expect(tech).toHaveURL(/\/today/);
  await hydrated(tech);
  await tech.locator('#fc-install').getByRole('button', { name: 'Not now' }).click();

  // 3. The manager adds a price book item and a required checklist step.
  await page.bringToFront();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Prices/ }).click();
  const item = page.getByTestId('item-form');
  await item.getByLabel('Name').fill('Whole-home humidifier');
  await item.getByLabel('SKU').fill(`HUM-${run}`);
  await item.getByLabel('Service').selectOption('hvac');
  await item.getByLabel('Price ($)').fill('1,245.00');
  await item.getByRole('button', { name: 'Save item' }).click();
  await expect(page.getByRole('status')).toContainText('$1,245.00');

  await page.goto(`${server.url}/checklist`);
  await hydrated(page);
  await expect(page.getByTestId('checklist-revision')).toContainText('Revision 1');
  await page.getByLabel('New step').fill('Check the humidifier pad and drain');
  await page.getByRole('button', { name: 'Add step' }).click();
  const steps = page.getByTestId('checklist-steps').locator('li');
  const added = steps.last();
  await expect(added.locator('input.step-text')).toHaveValue('Check the humidifier pad and drain');
  await added.getByLabel('Required').check();
  // First among the steps: moved up to the top.
  const count = await steps.count();
  for (let i = count - 1; i > 0; i--) await steps.nth(i).getByRole('button', { name: 'Move up' }).click();
  await expect(steps.first().locator('input.step-text')).toHaveValue('Check the humidifier pad and drain');
  await page.getByRole('button', { name: 'Save checklist' }).click();
  await expect(page.getByRole('status')).toContainText('revision 2');

  // 4. The technician's phone syncs, then goes into a basement.
  await tech.bringToFront();
  await tech.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Sync/ }).click();
  await tech.getByRole('button', { name: 'Sync now' }).click();
  await expect(tech.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 30_000 });
  await phone.setOffline(true);
  const customer = `Humid Basement ${run}`;
  await tech.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  const form = tech.getByTestId('new-consultation');
  await form.getByLabel('Customer name').fill(customer);
  await form.getByLabel('Service').selectOption('hvac');
  await form.getByRole('button', { name: 'Save and continue' }).click();
  await expect(tech).toHaveURL(/step=home/);
  await tech.getByRole('link', { name: 'Next: checklist' }).click();
  const checklist = tech.getByTestId('checklist-item');
  await expect(checklist.first()).toContainText('Check the humidifier pad and drain');
  await expect(checklist.first()).toContainText('(required)');
  const n = await checklist.count();
  for (let i = 0; i < n; i++) await checklist.nth(i).getByRole('button', { name: 'Done' }).click();
  await expect(tech.getByTestId('checklist-open')).toContainText('Every required step here is answered');
  await tech.getByRole('link', { name: 'Next: options' }).click();
  await tech.getByTestId('add-option').click();
  const option = tech.getByTestId('option').nth(0);
  await option.getByLabel('Search the price book').fill('humidifier');
  await option.getByTestId('price-book-results').getByRole('button', { name: /Whole-home humidifier/ }).click();
  await expect(option.getByTestId('option-total')).toHaveText('$1,245.00');
  await expect(tech.getByTestId('badge-pending')).not.toContainText('0 pending');

  // 5. Back in signal: it all goes up by itself.
  await phone.setOffline(false);
  await expect(tech.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 45_000 });

  // 6. The manager sees it in the audit trail, with who and from which device, and on the dashboard.
  await page.bringToFront();
  await page.goto(`${server.url}/audit`);
  await hydrated(page);
  const trail = page.getByTestId('audit-list');
  await expect(trail).toContainText('Consultation started');
  await expect(trail.getByTestId('audit-entry').filter({ hasText: 'Consultation started' })).toContainText('Tam Tech');
  await expect(trail).toContainText('Checklist (general) revision 2');
  await expect(trail).toContainText('Whole-home humidifier added at $1,245.00');
  await page.getByTestId('audit-record-type').selectOption('checklist');
  await expect(page.getByTestId('audit-entry')).toHaveCount(1);
  await expect(page.getByTestId('audit-entry')).toContainText('Jo Owner');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Dashboard/ }).click();
  await expect(page.getByText(customer)).toBeVisible({ timeout: 30_000 });
  await phone.close();
});
