import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../../functions/api/routes.ts';
import { startApiServer } from '../../local/api-server.ts';
import { issueLocalToken } from '../../local/local-auth.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
/** A directory user whose name is markup: the page must show it as text and run nothing. */
const EVIL_NAME = '<img src=x onerror=alert(1)>';
const LOCAL_TOKEN_TAG = '<meta name="local-token" content=';

let h: SyncHarness;
let jobId: string;
let origin: string;
let pageUrl: string;
/** The failure record of EVIL_NAME's refused create, as the API answers it. */
let failure: Record<string, any>;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 4, seedGroups: 1 });
  jobId = await h.startedJob();
  origin = new URL(h.stack.apiUrl).origin;
  pageUrl = `${origin}/?sp=${h.servicePrincipalId}`;
  await h.graph('POST', 'users', { userPrincipalName: 'evil@contoso.example', displayName: EVIL_NAME, mailNickname: 'evil', accountEnabled: true });
  h.scim.failNext({
    status: 400,
    scimType: 'invalidValue',
    detail: 'userName evil@contoso.example is reserved',
    match: (request) => request.method === 'POST' && request.path.startsWith('/Users'),
  });
  await h.runJob(jobId, 'schedule');
  const filter = `jobId eq '${jobId}' and provisioningStatusInfo/status eq 'failure'`;
  const { body } = await h.getV1(`/auditLogs/provisioning?$filter=${encodeURIComponent(filter)}`);
  expect(body.value).toHaveLength(1);
  failure = body.value[0];
  expect(failure.sourceIdentity.displayName).toBe(EVIL_NAME);
}, 120_000);
afterAll(async () => h?.close());

/** GET / with a Host header of our choosing (fetch does not let one set it). */
function getPage(port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/', headers: { host } }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

describe('status page shell', () => {
  it('is served without a token, holds no data, and lets only its own script and style run', async () => {
    const response = await fetch(`${origin}/?sp=${h.servicePrincipalId}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    expect(html).toContain('<title>Provisioning status</title>');
    expect(html).not.toContain(jobId);
    expect(html).not.toContain(LOCAL_TOKEN_TAG);
  });

  it('is, with the OpenAPI document and the Graph webhook, the only route served without a token', async () => {
    const guarded = apiRoutes.filter((route) => !route.unauthenticated);
    expect(apiRoutes.filter((route) => route.unauthenticated).map((route) => route.handler)).toEqual(['status-page', 'openapi-document', 'change-notifications']);
    for (const route of [...guarded, { method: 'POST', path: '/' }, { method: 'GET', path: '/v1.0/nowhere' }]) {
      const response = await fetch(`${origin}${route.path.replace(/\{[^}]+\}/g, 'x')}`, { method: route.method });
      expect(response.status, `${route.method} ${route.path}`).toBe(401);
    }
  });

  it('comes with a read-only token from the local server, only when addressed by a loopback name', async () => {
    const local = await startApiServer({
      host: '127.0.0.1',
      port: 0,
      localPageToken: () => issueLocalToken(h.dataDir, { readOnly: true }),
    });
    try {
      const port = Number(new URL(local.url).port);
      const html = await getPage(port, `127.0.0.1:${port}`);
      const token = /<meta name="local-token" content="([^"]+)">/.exec(html)?.[1];
      expect(decodeJwt(token!).roles).toEqual(['Synchronization.Read.All']);
      expect(await getPage(port, `localhost:${port}`)).toContain(LOCAL_TOKEN_TAG);
      // A site whose name was rebound to 127.0.0.1 would read the page as its own.
      expect(await getPage(port, `attacker.example:${port}`)).not.toContain(LOCAL_TOKEN_TAG);
    } finally {
      await local.close();
    }
  });
});

const browserSuite = hasChromium ? describe : describe.skip;
const suiteName = hasChromium
  ? 'status page in Chromium'
  : `status page in Chromium (skipped: ${CHROMIUM} is absent; install Debian's chromium package)`;

browserSuite(suiteName, () => {
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  const job = () => page.locator(`section.job[data-job-id="${jobId}"]`);

  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await (await browser.newContext()).newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });
  afterAll(async () => browser?.close());

  it('asks for a token when it has none', async () => {
    await page.goto(pageUrl);
    await page.locator('#token-form').waitFor({ state: 'visible' });
    expect(await page.locator('#token-message').textContent()).toContain('Paste a bearer token');
    expect(await page.locator('section.job').count()).toBe(0);
  });

  it('with the pasted token lists the job: status, progress bar, last cycle and the refused object as text', async () => {
    await page.locator('#token').fill(`Bearer ${await issueLocalToken(h.dataDir, { readOnly: true })}`);
    await page.locator('#token-form button').click();
    await job().waitFor();
    expect(await page.locator('#token-form').isHidden()).toBe(true);
    expect(await job().locator('.status').textContent()).toBe('Active');
    // At steady state with no progress reported, the bar is full.
    const bar = job().locator('progress');
    expect(await bar.evaluate((node: HTMLProgressElement) => [node.value, node.max])).toEqual([1, 1]);
    expect(await job().locator('.progress').textContent()).toContain('steady state');
    expect(await job().locator('.last-cycle').textContent()).toMatch(/^(Succeeded|EntryLevelErrors), /);

    const rows = job().locator('tr.failure');
    expect(await rows.count()).toBe(1);
    const cells = await rows.first().locator('td').allTextContents();
    expect(cells.slice(1)).toEqual(['create', `${EVIL_NAME} (User)`, failure.provisioningStatusInfo.errorInformation.reason]);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('refreshes itself: a paused job shows as paused without a reload', async () => {
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await h.expectOk('POST', `/jobs/${jobId}/pause`);
    await expect.poll(() => job().locator('.status').textContent(), { timeout: 15_000, interval: 250 }).toBe('Paused');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it('asks again for a token the API refuses', async () => {
    await page.evaluate(() => sessionStorage.setItem('graph-sync-jobs.token', 'not-a-jwt'));
    await page.reload();
    await page.locator('#token-form').waitFor({ state: 'visible' });
    expect(await page.locator('#token-message').textContent()).toContain('refused the token');
    expect(await page.evaluate(() => sessionStorage.getItem('graph-sync-jobs.token'))).toBeNull();
  });

  it('opened from the local server, shows the jobs with the token it was handed', async () => {
    const local = await startApiServer({
      host: '127.0.0.1',
      port: 0,
      localPageToken: () => issueLocalToken(h.dataDir, { readOnly: true }),
    });
    const fresh = await (await browser.newContext()).newPage();
    try {
      await fresh.goto(`${local.url}/?sp=${h.servicePrincipalId}`);
      await fresh.locator(`section.job[data-job-id="${jobId}"]`).waitFor();
      expect(await fresh.locator('#token-form').isHidden()).toBe(true);
    } finally {
      await fresh.context().close();
      await local.close();
    }
  });
});
