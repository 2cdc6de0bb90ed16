// The technician's whole in-home consultation, captured offline from a cold start on a phone,
// then checked field by field on the server as a manager sees it.
import { test, expect, request, Page, BrowserContext } from './guard';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { startServer, signIn, hydrated, DEMO, DEMO_PASSWORD, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

const PHOTO = path.join(__dirname, '..', 'fixtures', 'data-plate.png');

/** Everything the manager's device would receive: every record of the company, by entity. */
async function managerRecords(base: string) {
  const api = await request.newContext({ baseURL: base });
  const login = await api.post('/api/auth/login', { data: { email: DEMO.manager, password: DEMO_PASSWORD } });
  expect(login.ok()).toBeTruthy();
  const clientId = randomUUID();
  const rows = new Map<string, Map<string, any>>();
  let cookie = null;
  for (;;) {
    const resp = await api.post('/api/sync/pull', { data: { client_id: clientId, cookie } });
    expect(resp.ok()).toBeTruthy();
    const body = await resp.json();
    for (const op of body.patch) {
      if (!rows.has(op.entity)) rows.set(op.entity, new Map());
      if (op.op === 'put') rows.get(op.entity)!.set(op.id, op.data);
    }
    cookie = body.cookie;
    if (!body.has_more) break;
  }
  const of = (entity: string) => [...(rows.get(entity)?.values() ?? [])];
  return { api, of };
}

async function saved(page: Page) {
  await expect(page.getByTestId('save-state')).toContainText('Saved on this device');
}

async function goOffline(ctx: BrowserContext) {
  await ctx.setOffline(true);
}

test('a whole consultation captured offline reaches the server with every field, photo and signature', async ({ browser }) => {
  test.setTimeout(180_000);
  server = await startServer();
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true });
  let page = await ctx.newPage();
  await signIn(page, server.url, DEMO.tech);
  await expect(page).toHaveURL(/\/today$/);
  await hydrated(page);
  await expect(page.locator('html[data-offline-ready]')).toHaveCount(1);
  // The device's copy of the demo year is here: the Today list is full.
  await expect(page.getByTestId('consultation').first()).toBeVisible({ timeout: 30_000 });
  // The rows came with the page; they are on the device once its first sync is done.
  await expect(page.getByTestId('first-sync')).toHaveCount(0, { timeout: 45_000 });
  const someone = (await page.getByTestId('consultation').first().locator('strong').first().innerText()).trim();

  // Cold start with no signal: a fresh tab, the app from the service worker, the work from IndexedDB.
  await goOffline(ctx);
  await page.close();
  page = await ctx.newPage();
  await page.goto(`${server.url}/today`);
  await hydrated(page);
  await expect(page.getByTestId('sync-badge')).toContainText('Offline');
  await expect(page.getByTestId('consultation').first()).toBeVisible();

  // Search works offline.
  await page.getByTestId('search').fill(someone.split(' ')[0]);
  await expect(page.getByTestId('consultation').first()).toContainText(someone.split(' ')[0]);

  // Step 1: the customer. A name already on the device is flagged before a duplicate is made.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  const form = page.getByTestId('new-consultation');
  await form.getByLabel('Customer name').fill(someone);
  await expect(page.getByTestId('duplicate-warning')).toBeVisible();
  await expect(page.getByTestId('duplicate-warning')).toContainText('similar name');
  const customer = `Basement Customer ${Date.now()}`;
  await form.getByLabel('Customer name').fill(customer);
  await expect(page.getByTestId('duplicate-warning')).toHaveCount(0);
  await form.getByLabel('Phone').fill('(737) 555-0177');
  await form.getByLabel('Email').fill('basement@example.com');
  await form.getByLabel('Address').fill('42 Cellar Lane');
  await form.getByLabel('How they found us').selectOption('referral');
  await form.getByLabel('Service').selectOption('hvac');
  await form.getByLabel("Problem, in the customer's words").fill('No heat upstairs');
  await form.getByRole('button', { name: 'Save and continue' }).click();
  await expect(page).toHaveURL(/\/visit\?id=.*&step=home/);
  const consultationId = new URL(page.url()).searchParams.get('id')!;

  // Step 2: home and equipment, and a photo of the data plate.
  await page.getByLabel('System', { exact: true }).selectOption('heat_pump');
  await page.getByLabel('Age of the system (years)').fill('14');
  await page.getByLabel('Brand').fill('Carrier');
  await page.getByLabel('Model / serial').fill('25HCC536A003');
  await page.getByLabel('Fuel').selectOption('electric');
  await page.getByLabel('Square footage').fill('1850');
  await saved(page);
  await page.getByTestId('photo-input').setInputFiles(PHOTO);
  await expect(page.getByTestId('photos').locator('img.thumb')).toHaveCount(1);
  await saved(page);
  await page.getByLabel('Notes').fill('Ducts in the attic are uninsulated');

  // The tab is killed mid-flow (a reload with no network): everything typed is still there.
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('Brand')).toHaveValue('Carrier');
  await expect(page.getByLabel('Square footage')).toHaveValue('1850');
  // Typed last, with no pause and without leaving the field: saved when the page went away.
  await expect(page.getByLabel('Notes')).toHaveValue('Ducts in the attic are uninsulated');
  await expect(page.getByTestId('photos').locator('img.thumb')).toHaveCount(1);

  // Step 3: the checklist — every required step done, one optional skipped with a reason.
  await page.getByRole('link', { name: 'Next: checklist' }).click();
  const items = page.getByTestId('checklist-item');
  await expect(items.first()).toBeVisible();
  const count = await items.count();
  for (let i = 0; i < count; i++) {
    const item = items.nth(i);
    if ((await item.innerText()).includes('Photograph')) {
      await item.getByRole('button', { name: 'Skip' }).click();
      await item.getByRole('textbox').fill('Data plate photographed in step 2');
    } else {
      await item.getByRole('button', { name: 'Done' }).click();
    }
  }
  await expect(page.getByTestId('checklist-open')).toContainText('Every required step here is answered');
  // The step bar, within thumb reach, goes back as well as on.
  await expect(page.getByRole('link', { name: 'Back to Home' })).toBeVisible();
  // Steps that happen later are asked later: presenting with the options, the decision at the end.
  await expect(items.filter({ hasText: 'Ask for the decision' })).toHaveCount(0);
  await expect(items.filter({ hasText: 'Present good / better / best' })).toHaveCount(0);
  await saved(page);

  // Step 4: options from the price book, a discount, financing.
  await page.getByRole('link', { name: 'Next: options' }).click();
  await page.getByTestId('add-option').click();
  let option = page.getByTestId('option').nth(0);
  await option.getByLabel('Search the price book').fill('80% gas furnace');
  await option.getByTestId('price-book-results').getByRole('button').first().click();
  await expect(option.getByTestId('option-total')).toHaveText('$4,290.00');
  await option.getByRole('button', { name: 'Done adding' }).click();
  // A removed option can be put back.
  await option.getByRole('button', { name: 'Remove this option' }).click();
  await expect(page.getByTestId('option')).toHaveCount(0);
  await page.getByTestId('option-removed').getByRole('button', { name: 'Undo' }).click();
  await expect(page.getByTestId('option').nth(0).getByTestId('option-total')).toHaveText('$4,290.00');
  await page.getByTestId('add-option').click();
  option = page.getByTestId('option').nth(1);
  await option.getByLabel('Search the price book').fill('heat pump, 3 ton');
  await option.getByTestId('price-book-results').getByRole('button').first().click();
  await expect(option.getByTestId('option-total')).toHaveText('$13,890.00');
  await option.getByLabel('Search the price book').fill('thermostat');
  await option.getByTestId('price-book-results').getByRole('button').first().click();
  await expect(option.getByTestId('option-total')).toHaveText('$14,285.00');
  // $100 off the heat pump (its limit is 8%).
  await option.getByLabel(/Discount/).first().fill('100');
  await option.getByLabel(/Discount/).first().press('Enter');
  await expect(option.getByTestId('option-total')).toHaveText('$14,185.00');
  await option.getByLabel('Financing').selectOption('apr_999_60');
  await expect(option.getByTestId('monthly')).toHaveText(/or \$301\.\d\d a month/);

  // The checklist's steps of this stage sit under the options.
  const withOptions = page.getByTestId('options-checklist').getByTestId('checklist-item');
  await expect(withOptions.first()).toContainText('Present good / better / best');
  const optionSteps = await withOptions.count();
  for (let i = 0; i < optionSteps; i++) await withOptions.nth(i).getByRole('button', { name: 'Done' }).click();

  // Presentation mode: the tiers side by side; the customer chooses Better.
  await page.getByTestId('present').click();
  await expect(page.getByTestId('presentation')).toBeVisible();
  await expect(page.getByTestId('tier')).toHaveCount(2);
  await page.getByRole('button', { name: 'Choose Better' }).click();

  // Step 5: sold, signed on the screen — on the proposal, not a blank box.
  await expect(page).toHaveURL(/step=outcome/);
  await expect(page.getByTestId('sold')).toBeVisible();
  const atDecision = page.getByTestId('outcome-checklist').getByTestId('checklist-item');
  await expect(atDecision).toHaveCount(1);
  await expect(atDecision.first()).toContainText('Ask for the decision');
  await atDecision.first().getByRole('button', { name: 'Done' }).click();
  const proposal = page.getByTestId('proposal');
  await expect(proposal.getByTestId('proposal-customer')).toHaveText(customer);
  await expect(proposal.getByTestId('proposal-total')).toHaveText('$14,185.00');
  await expect(proposal.getByTestId('proposal-financing')).toContainText(/\$301\.\d\d\/month for 60 months at 9\.99% APR/);
  await expect(proposal).toContainText('42 Cellar Lane');
  await expect(page.getByTestId('signed-name')).toHaveValue(customer);
  await page.getByTestId('signed-name').fill('Hugo Basement');
  const pad = page.getByTestId('signature');
  await pad.evaluate((el) => el.scrollIntoView({ block: 'center' }));
  const box = (await pad.boundingBox())!;
  await page.mouse.move(box.x + 20, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 12; i++) {
    await page.mouse.move(box.x + 20 + i * 20, box.y + box.height / 2 + (i % 2 ? -25 : 25));
  }
  await page.mouse.up();
  await page.getByRole('button', { name: 'Record the sale' }).click();
  await expect(page.getByTestId('decided')).toContainText('Sold');
  await expect(page.getByTestId('visit-status')).toHaveText('won');
  // The customer's copy: printing works from the device; a link needs the server.
  const copy = page.getByTestId('customer-copy');
  await copy.getByRole('button', { name: 'Send a link' }).click();
  await expect(copy.getByRole('alert')).toContainText('No connection');

  // Signal again: it all goes up by itself.
  await ctx.setOffline(false);
  await expect(page.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 45_000 });
  await page.goto(`${server.url}/sync`);
  await expect(page.getByTestId('uploads-pending')).toHaveText('0', { timeout: 30_000 });
  await expect(page.getByText('None. Every change was accepted.')).toBeVisible();

  // Online: the link is made, and opens for the customer without an account.
  await page.goto(`${server.url}/visit?id=${consultationId}&step=outcome`);
  await hydrated(page);
  await page.getByTestId('customer-copy').getByRole('button', { name: 'Send a link' }).click();
  const link = await page.getByTestId('proposal-link').inputValue();
  expect(link).toMatch(/\/p\/[A-Za-z0-9_-]{43}$/);
  const customerSide = await page.context().browser()!.newContext({ viewport: { width: 360, height: 740 } });
  const copyPage = await customerSide.newPage();
  await copyPage.goto(link);
  await expect(copyPage.getByTestId('copy-signed-name')).toHaveText('Hugo Basement');
  await expect(copyPage.getByTestId('copy-total')).toHaveText('$14,185.00');
  await expect(copyPage.getByTestId('copy-option')).toHaveCount(1);
  await expect(copyPage.getByRole('button', { name: 'Print or save as PDF' })).toBeVisible();
  await customerSide.close();

  // The manager sees every field, the photo and the signature.
  const { api, of } = await managerRecords(server.url);
  const c = of('consultation').find((x) => x.id === consultationId)!;
  expect(c).toBeTruthy();
  expect(c.home).toMatchObject({ system_type: 'heat_pump', age_years: '14', brand: 'Carrier', model: '25HCC536A003', fuel: 'electric', square_feet: '1850' });
  expect(c.problem).toBe('No heat upstairs');
  expect(c.notes).toBe('Ducts in the attic are uninsulated');
  expect(c.held_at).toBeTruthy();
  expect(c.status).toBe('won');
  expect(c.sold_amount_cents).toBe(1_418_500);
  expect(Object.values(c.checklist).length).toBe(count + optionSteps + 1);
  expect(c.signed_name).toBe('Hugo Basement');
  const lead = of('lead').find((l) => l.id === c.lead_id)!;
  expect(lead.source).toBe('referral');
  const cust = of('customer').find((x) => x.id === lead.customer_id)!;
  expect(cust).toMatchObject({ name: customer, phone: '+17375550177', email: 'basement@example.com', address: '42 Cellar Lane' });
  const options = of('option').filter((o) => o.consultation_id === consultationId);
  expect(options.map((o) => o.price_cents).sort((a, b) => a - b)).toEqual([429_000, 1_418_500]);
  const better = options.find((o) => o.price_cents === 1_418_500)!;
  expect(better).toMatchObject({ financing_plan: 'apr_999_60', presented: true });
  expect(better.monthly_payment_cents).toBeGreaterThan(30_000);
  expect(c.sold_option_id).toBe(better.id);
  const files = of('attachment').filter((a) => a.consultation_id === consultationId);
  expect(files.map((a) => a.kind).sort()).toEqual(['photo', 'signature']);
  for (const f of files) {
    const blob = await api.get(`/api/blobs/${f.sha256}`);
    expect(blob.status()).toBe(200);
    expect(blob.headers()['content-type']).toBe(f.kind === 'photo' ? 'image/jpeg' : 'image/png');
    expect((await blob.body()).length).toBe(Number(f.byte_size));
  }
  const kinds = of('stage_event').filter((e) => e.consultation_id === consultationId || e.lead_id === c.lead_id).map((e) => e.kind);
  for (const k of ['lead_created', 'first_contact', 'consultation_held', 'options_presented', 'won']) expect(kinds).toContain(k);
  await api.dispose();
  await ctx.close();
});

test('two tabs of the app share one outbox and only one of them pushes', async ({ browser }) => {
  server = await startServer();
  const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const first = await ctx.newPage();
  await signIn(first, server.url, DEMO.tech);
  await hydrated(first);
  // The first tab takes the sync lock once its store has opened; only then open the second, or
  // the second may open its store first and become the syncing tab.
  await expect
    .poll(() => first.evaluate(async () => (await navigator.locks.query()).held?.length ?? 0), { timeout: 30_000 })
    .toBeGreaterThan(0);
  const second = await ctx.newPage();
  await second.goto(`${server.url}/today`);
  await hydrated(second);
  const pushes = { first: 0, second: 0 };
  first.on('request', (r) => r.url().endsWith('/api/sync/push') && pushes.first++);
  second.on('request', (r) => r.url().endsWith('/api/sync/push') && pushes.second++);

  // A consultation started in the second tab is sent by the first (the one holding the lock).
  const customer = `Two Tabs ${Date.now()}`;
  await second.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /New/ }).click();
  await second.getByLabel('Customer name').fill(customer);
  await second.getByRole('button', { name: 'Save and continue' }).click();
  await expect(second).toHaveURL(/step=home/);
  await expect(second.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 30_000 });
  expect(pushes.first).toBeGreaterThan(0);
  expect(pushes.second).toBe(0);
  // The first tab shows what the second wrote (it heard of the write and re-read the store).
  await first.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Today/ }).click();
  await expect(first.getByTestId('consultation').filter({ hasText: customer })).toHaveAttribute('data-pending', 'false');
  await ctx.close();
});
