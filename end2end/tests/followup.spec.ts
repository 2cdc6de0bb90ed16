// A technician hands a quote to a sales rep; both edit it offline; both come online, converge,
// and both see the value that was overwritten. The rep's follow-up, logged offline from the
// truck, reaches the manager's follow-up board.
import { test, expect, Page } from './guard';
import { startServer, signIn, hydrated, DEMO, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

const phone = { viewport: { width: 360, height: 740 } };

async function settled(page: Page) {
  await expect(page.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 45_000 });
}

test('tech and rep edit one quote offline, converge, and both see the conflict', async ({ browser }) => {
  test.setTimeout(180_000);
  server = await startServer();
  const techCtx = await browser.newContext(phone);
  const repCtx = await browser.newContext(phone);
  const tech = await techCtx.newPage();
  const rep = await repCtx.newPage();
  await signIn(tech, server.url, DEMO.tech);
  await hydrated(tech);
  await signIn(rep, server.url, DEMO.rep);
  await expect(rep).toHaveURL(/\/queue$/);
  await hydrated(rep);

  // The technician starts a consultation and hands it to Jordan (rep1) from the outcome step.
  const customer = `Handoff Customer ${Date.now()}`;
  await tech.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  await tech.getByLabel('Customer name').fill(customer);
  await tech.getByLabel('Phone').fill('(737) 555-0123');
  await tech.getByRole('button', { name: 'Save and continue' }).click();
  await expect(tech).toHaveURL(/step=home/);
  const visitUrl = tech.url();
  const id = new URL(visitUrl).searchParams.get('id')!;
  await tech.goto(`${server.url}/visit?id=${id}&step=outcome`);
  await hydrated(tech);
  await tech.getByRole('button', { name: 'Follow up' }).click();
  await tech.getByLabel('Who follows up').selectOption({ label: 'Jordan Reyes' });
  await tech.getByLabel('Note for the follow-up').fill('Wants the better option on financing');
  await tech.getByRole('button', { name: 'Schedule the follow-up' }).click();
  await expect(tech.getByTestId('follow-up-done')).toBeVisible();
  await settled(tech);
  // Back on the step after a reload: it opens on the follow-up that exists and offers no second
  // one unless asked.
  await tech.reload();
  await hydrated(tech);
  await expect(tech.getByTestId('follow-up-open')).toContainText('with Jordan Reyes');
  await expect(tech.getByRole('button', { name: 'Schedule the follow-up' })).toHaveCount(0);
  await tech.getByTestId('follow-up-another').click();
  await expect(tech.getByRole('button', { name: 'Schedule the follow-up' })).toBeVisible();

  // The rep's queue has it after sync; it lists the first twenty, so the rep finds it by name.
  await rep.getByTestId('queue-find').fill(customer.toLowerCase().split(' ').reverse().join(' '));
  const row = rep.getByTestId('queue-row').filter({ hasText: customer });
  await expect(row).toBeVisible({ timeout: 45_000 });
  await expect(row).toContainText('no attempts yet');

  // Both offline (a basement, a truck).
  await techCtx.setOffline(true);
  await repCtx.setOffline(true);

  // The rep texts from the queue (the phone's own app opens; here it is held back) and logs it.
  await rep.evaluate(() =>
    document.addEventListener('click', (e) => {
      if ((e.target as Element).closest('a[href^="tel:"], a[href^="sms:"]')) e.preventDefault();
    }, true),
  );
  await row.getByRole('link', { name: /Text/ }).click();
  await row.getByTestId('contact-result').getByRole('button', { name: 'No answer' }).click();
  await expect(row.getByTestId('contact-logged')).toContainText('Next follow-up');
  // At once a second attempt: the first rebuilt the row while it was being saved (this used to
  // panic in the background; the guard fails the spec on any page error).
  await row.getByRole('link', { name: /Call/ }).click();
  await row.getByTestId('contact-result').getByRole('button', { name: 'Left message' }).click();
  await expect(row).toContainText('2 attempts, last: Left message');
  // And writes a note on the quote.
  await row.getByRole('link', { name: customer }).click();
  await expect(rep).toHaveURL(/\/quote\?id=/);
  // The technician's hand-off note is on the quote, with what was seen on the visit.
  await expect(rep.getByTestId('handoff-note')).toContainText('Wants the better option on financing');
  await rep.getByLabel('Notes').fill('Call after 5 pm');
  await expect(rep.getByTestId('save-state')).toContainText('Saved on this device');

  // Meanwhile the technician edits the problem (another field) and the notes (the same one).
  await tech.goto(visitUrl);
  await hydrated(tech);
  await tech.getByLabel("Problem, in the customer's words").fill('No heat upstairs, short cycling');
  await tech.getByLabel('Notes').fill('Prefers mornings');
  await expect(tech.getByTestId('save-state')).toContainText('Saved on this device');

  // The technician's signal comes back first, then the rep's: the rep's note arrives last and wins.
  await techCtx.setOffline(false);
  await settled(tech);
  await repCtx.setOffline(false);
  await settled(rep);

  // Both converge on the same record, and both see what was overwritten.
  await rep.reload();
  await hydrated(rep);
  await expect(rep.getByLabel('Notes')).toHaveValue('Call after 5 pm');
  await expect(rep.getByTestId('conflict')).toContainText('Prefers mornings', { timeout: 30_000 });
  await tech.reload();
  await hydrated(tech);
  await expect(tech.getByLabel('Notes')).toHaveValue('Call after 5 pm', { timeout: 30_000 });
  await expect(tech.getByLabel("Problem, in the customer's words")).toHaveValue('No heat upstairs, short cycling');
  await expect(tech.getByTestId('conflict')).toContainText('Call after 5 pm', { timeout: 30_000 });

  // The manager's board shows the rep's logged attempt and the next follow-up.
  const office = await browser.newContext();
  const manager = await office.newPage();
  await signIn(manager, server.url, DEMO.manager);
  await hydrated(manager);
  await manager.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Follow-ups/ }).click();
  const entry = manager.getByTestId('followup-row').filter({ hasText: customer });
  await expect(entry).toBeVisible({ timeout: 45_000 });
  await expect(entry).toContainText('2 attempts, last: Left message');
  await expect(manager.getByTestId('followup-group').filter({ hasText: customer })).toContainText('Jordan Reyes');
  await techCtx.close();
  await repCtx.close();
  await office.close();
});

test('my day: one tap per status writes time entries, offline too', async ({ browser }) => {
  server = await startServer();
  const ctx = await browser.newContext(phone);
  const page = await ctx.newPage();
  await signIn(page, server.url, DEMO.rep);
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /My day/ }).click();
  await ctx.setOffline(true);
  const strip = page.getByTestId('status-strip');
  await strip.getByRole('button', { name: 'Driving' }).click();
  await expect(strip).toContainText('Now: Driving');
  await strip.getByRole('button', { name: 'Follow-up contact' }).click();
  await expect(strip).toContainText('Now: Follow up contact');
  await expect(page.getByTestId('time-entries')).toContainText('Driving');
  await expect(page.getByTestId('time-entries')).toContainText('Follow up contact');
  await ctx.setOffline(false);
  await settled(page);
  await ctx.close();
});
