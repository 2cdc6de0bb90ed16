// The front of the funnel: an enquiry from the company's website reaches the office's inbox (and
// its push notice, delivered through DevTools, is shown and opens the inbox), one tap logs the
// call, the visit is booked for tech1, it is at the top of tech1's Today (also offline, where the
// visit is started), and the dashboard's speed to lead and lead → consultation count it.
import { test, expect, request } from './guard';
import { startServer, signIn, hydrated, DEMO, DEMO_PASSWORD, RunningServer } from './server';

let server: RunningServer;
test.afterEach(async () => server && (await server.stop()));

const phone = { viewport: { width: 360, height: 740 }, hasTouch: true };
// A date on the demo company's clock (America/Chicago): the app's days are the company's.
const day = (offset: number) =>
  new Date(Date.now() + offset * 86_400_000).toLocaleDateString('en-CA', { timeZone: 'America/Chicago' });

test('a web lead is answered, booked for tech1, started offline from Today, and counted', async ({ browser }) => {
  test.setTimeout(240_000);
  server = await startServer();
  const boss = await request.newContext({ baseURL: server.url });
  expect((await boss.post('/api/auth/login', { data: { email: DEMO.manager, password: DEMO_PASSWORD } })).ok()).toBe(true);
  const { key } = await (await boss.get('/api/intake-settings')).json();
  // Company-local days may differ from this machine's: a range around today holds the lead.
  const dashboard = async () =>
    (await (await boss.get(`/api/analytics/dashboard?from=${day(-1)}&to=${day(1)}`)).json()) as {
      speed_to_lead: { leads: number; contacted: number };
      lead_to_consultation: { hits: number; n: number };
    };
  const before = await dashboard();

  // A visitor sends the website's form.
  const customer = `Web Lead ${Date.now()}`;
  // A number no demo customer has (a known number would make this the same household again).
  const digits = `555${String(Date.now()).slice(-4)}`;
  const phoneNumber = `(737) 555-${digits.slice(3)}`;
  const site = await request.newContext({ baseURL: server.url });
  const posted = await site.post(`/api/intake/${key}`, {
    data: { name: customer, phone: phoneNumber, address: '500 Congress Ave, Austin TX', service: 'hvac',
            message: 'No heat since this morning', utm_source: 'google', utm_campaign: 'winter-heat' },
    headers: { 'Idempotency-Key': customer },
  });
  expect(posted.status()).toBe(201);

  // The office's inbox shows it, waiting, with what the customer wrote.
  const officeCtx = await browser.newContext(phone);
  const office = await officeCtx.newPage();
  await signIn(office, server.url, DEMO.office);
  await expect(office).toHaveURL(/\/inbox$/);
  await hydrated(office);
  const lead = office.getByTestId('lead').filter({ hasText: customer });
  await expect(lead).toBeVisible({ timeout: 45_000 });
  await expect(lead.getByTestId('lead-age')).toContainText('waiting');
  await expect(lead).toContainText('winter-heat');
  await expect(lead).toContainText('No heat since this morning');
  // Without push permission the tab bar says leads are waiting.
  await expect(office.getByTestId('leads-badge')).toBeVisible();

  // A push notice about it, delivered as the browser's push service would (there is none here):
  // the service worker shows it, and a tap on it opens the inbox in the tab already open.
  await officeCtx.grantPermissions(['notifications'], { origin: server.url });
  // The worker must be active to take a push (on a loaded machine it may still be installing).
  await office.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  const cdp = await officeCtx.newCDPSession(office);
  const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
  await cdp.send('ServiceWorker.enable');
  const origin = new URL(server.url).origin;
  const live = () => registrations.filter((r) => !r.isDeleted && r.scopeURL.startsWith(origin));
  await expect.poll(() => live().length, { timeout: 20_000 }).toBeGreaterThan(0);
  const notice = { kind: 'new_lead', title: `New lead: ${customer}`, body: 'hvac · website', url: '/inbox', tag: 'lead-e2e' };
  const shown = () =>
    office.evaluate(async () =>
      (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => `${n.title} | ${n.body}`),
    );
  // Delivered again until shown: one that reaches a worker still starting up is lost, as a real
  // push service's would be (the tag makes a second one replace the first, never add to it).
  await expect
    .poll(
      async () => {
        await cdp.send('ServiceWorker.deliverPushMessage', {
          origin,
          registrationId: live().pop()!.registrationId,
          data: JSON.stringify(notice),
        });
        await office.waitForTimeout(500);
        return shown();
      },
      { timeout: 30_000, intervals: [1_000] },
    )
    .toContain(`New lead: ${customer} | hvac · website`);
  await office.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Schedule/ }).click();
  await expect(office).toHaveURL(/\/schedule$/);
  const worker = officeCtx.serviceWorkers()[0] ?? (await officeCtx.waitForEvent('serviceworker'));
  // DevTools cannot tap a notification: the test hands the worker the event a tap makes.
  await worker.evaluate(async () => {
    const sw = self as unknown as {
      registration: ServiceWorkerRegistration;
      dispatchEvent(e: Event): boolean;
      NotificationEvent: new (type: string, init: { notification: Notification }) => Event;
    };
    const [notification] = await sw.registration.getNotifications();
    try {
      sw.dispatchEvent(new sw.NotificationEvent('notificationclick', { notification }));
    } catch (_) {
      /* waitUntil refuses an event the test made; the handler has already begun */
    }
  });
  await expect(office).toHaveURL(/\/inbox$/, { timeout: 20_000 });
  await hydrated(office);
  expect(await shown()).toEqual([]);
  await expect(lead).toBeVisible({ timeout: 45_000 });

  // One tap calls (the phone's dialer is held back here) and logs the first contact.
  await office.evaluate(() =>
    document.addEventListener('click', (e) => {
      if ((e.target as Element).closest('a[href^="tel:"], a[href^="sms:"]')) e.preventDefault();
    }, true),
  );
  await lead.getByTestId('lead-call').click();
  await expect(lead).toHaveAttribute('data-contacted', 'true');
  await expect(lead.getByTestId('lead-age')).toContainText('answered after');

  // Booked for tech1 today, late enough to be free.
  await lead.getByTestId('lead-book').click();
  const form = lead.getByTestId('book-visit');
  await form.getByLabel('Technician').selectOption({ label: 'Marcus Bell' });
  await form.getByLabel('Day').fill(day(0));
  await form.getByLabel('Arrival from').fill('23:00');
  await form.getByLabel('Window').selectOption('60');
  await form.getByRole('button', { name: 'Book visit' }).click();
  await expect(office.getByTestId('lead').filter({ hasText: customer })).toHaveCount(0);
  await expect(office.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 45_000 });
  // The schedule has it on Marcus's day.
  await office.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Schedule/ }).click();
  const marcus = office.getByTestId('tech-day').filter({ hasText: 'Marcus Bell' });
  await expect(marcus.getByTestId('scheduled-visit').filter({ hasText: customer })).toContainText('23:00–00:00');

  // tech1's Today: the visit first, above the recent work; it stays there with no signal.
  const techCtx = await browser.newContext(phone);
  const tech = await techCtx.newPage();
  await signIn(tech, server.url, DEMO.tech);
  await expect(tech).toHaveURL(/\/today$/);
  await hydrated(tech);
  const visit = tech.getByTestId('todays-visit').filter({ hasText: customer });
  await expect(visit).toBeVisible({ timeout: 45_000 });
  await expect(visit).toContainText('23:00–00:00');
  await expect(visit.getByRole('link', { name: /500 Congress Ave/ })).toHaveAttribute('href', /maps/);
  await expect(visit.getByRole('link', { name: /Call/ })).toHaveAttribute('href', `tel:+1737${digits}`);
  const visitsTop = (await tech.getByTestId('todays-visits').boundingBox())!.y;
  const listTop = (await tech.getByTestId('consultation-list').boundingBox())!.y;
  expect(visitsTop).toBeLessThan(listTop);
  await expect(tech.locator('html[data-offline-ready]')).toHaveCount(1);
  // The visit came with the page; it is on the device once the first sync is done.
  await expect(tech.getByTestId('first-sync')).toHaveCount(0, { timeout: 45_000 });
  await techCtx.setOffline(true);
  await tech.reload();
  await hydrated(tech);
  await expect(tech.getByTestId('sync-badge')).toContainText('Offline');
  await tech.getByTestId('todays-visit').filter({ hasText: customer }).getByTestId('start-visit').click();
  await expect(tech).toHaveURL(/\/visit\?id=.*&step=home$/);
  await techCtx.setOffline(false);
  await expect(tech.getByTestId('badge-pending')).toContainText('0 pending', { timeout: 45_000 });

  // The dashboard counts it: one more lead, contacted, and held.
  await expect
    .poll(async () => {
      const after = await dashboard();
      return [
        after.speed_to_lead.leads - before.speed_to_lead.leads,
        after.speed_to_lead.contacted - before.speed_to_lead.contacted,
        after.lead_to_consultation.n - before.lead_to_consultation.n,
        after.lead_to_consultation.hits - before.lead_to_consultation.hits,
      ];
    }, { timeout: 30_000 })
    .toEqual([1, 1, 1, 1]);
  await officeCtx.close();
  await techCtx.close();
});
