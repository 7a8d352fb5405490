import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';
import { workerContext } from '../support/sync-harness.ts';

// The whole local stack as `npm start` runs it: the jobs subscribe to the local directory's change notifications,
// which reach the API's webhook, which wakes the worker (in-process, as Lambda would be). The job's interval is
// PT40M and no test calls start after the first, so only a notification can explain a change arriving.
const SP = 'notified-app';
const USERS = 30;
let t: TestStack;
let jobId: string;

/** Polls `check` until it returns something other than undefined, or fails after `ms`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const directory = (method: string, route: string, body?: unknown) =>
  fetch(`${t.stack.directoryUrl}/${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function directoryUsers(): Promise<{ id: string; mailNickname: string }[]> {
  return ((await (await directory('GET', 'users?$select=id,mailNickname&$top=999')).json()) as { value: { id: string; mailNickname: string }[] }).value;
}

const targetUser = (nickname: string) => t.stack.scim.resources('Users').find((user) => user.externalId === nickname) as Record<string, unknown> | undefined;

beforeAll(async () => {
  t = await startTestStack({ changeNotifications: true, seed: { users: USERS, groups: 2 } });
  jobId = (await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim', schedule: { interval: 'PT40M' } } })).json.id;
  const secrets = [
    { key: 'BaseAddress', value: t.stack.scimUrl },
    { key: 'SecretToken', value: t.stack.scimToken },
    { key: 'SyncAll', value: 'true' },
  ];
  expect((await t.api('PUT', syncPath(SP, '/secrets'), { body: { value: secrets } })).status).toBe(204);
  expect((await t.api('POST', syncPath(SP, `/jobs/${jobId}/start`))).status).toBe(204);
  await eventually('the first steady state with notifications set up', async () => {
    const { status } = (await t.api('GET', syncPath(SP, `/jobs/${jobId}`))).json;
    return status.changeNotifications.state === 'active' && status.lastSuccessfulExecution && t.stack.scim.resources('Users').length === USERS ? status : undefined;
  });
}, 60_000);
afterAll(async () => t?.close());

describe('change notifications', () => {
  it('subscribe once per source, to users and to groups, with a clientState each', () => {
    const subscriptions = t.stack.directory.subscriptions();
    expect(subscriptions.map((subscription) => subscription.resource).sort()).toEqual(['groups', 'users']);
    expect(new Set(subscriptions.map((subscription) => subscription.clientState)).size).toBe(2);
    expect(subscriptions.every((subscription) => subscription.notificationUrl.endsWith('/notifications'))).toBe(true);
  });

  it('bring a change to the target with no sync now', async () => {
    const [user] = await directoryUsers();
    expect((await directory('PATCH', `users/${user!.id}`, { jobTitle: 'Notified Engineer' })).status).toBe(204);
    const account = await eventually('the change in the target', async () =>
      targetUser(user!.mailNickname)?.title === 'Notified Engineer' ? targetUser(user!.mailNickname) : undefined,
    );
    expect(account).toMatchObject({ title: 'Notified Engineer' });
  });

  it('turn a burst of changes into a few runs, which leave the target in step', async () => {
    const users = (await directoryUsers()).slice(0, 25);
    const since = new Date().toISOString();
    const started = Date.now();
    for (const user of users) {
      for (const department of ['One', 'Two', 'Three', 'Four']) {
        expect((await directory('PATCH', `users/${user.id}`, { department: `${department} ${user.mailNickname}` })).status).toBe(204);
      }
    }
    const burstSeconds = (Date.now() - started) / 1000;
    await eventually('every last value in the target', async () =>
      users.every((user) => (targetUser(user.mailNickname)?.['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as { department?: string } | undefined)?.department === `Four ${user.mailNickname}`) ? true : undefined,
    );
    await t.stack.workerRunsSettled();
    const filter = encodeURIComponent(`jobId eq '${jobId}' and activityDateTime gt ${since}`);
    const records = (await t.api('GET', `/auditLogs/provisioning?$filter=${filter}&$top=1000`)).json.value as { cycleId: string }[];
    const cycles = new Set(records.map((record) => record.cycleId));
    // 100 changes, each a notification: at most a run and its continuation per second of the burst (the settle
    // wait), plus the last, however slow the machine makes the burst; without coalescing, one run per change or so.
    expect(records.length).toBeGreaterThanOrEqual(users.length);
    expect(cycles.size).toBeLessThanOrEqual(Math.min(2 * Math.ceil(burstSeconds) + 2, 25));
  });

  it('leave a change whose notification was lost to the next tick, which delivers it', async () => {
    for (const subscription of t.stack.directory.subscriptions()) {
      expect((await directory('DELETE', `subscriptions/${subscription.id}`)).status).toBe(204);
    }
    const [, user] = await directoryUsers();
    expect((await directory('PATCH', `users/${user!.id}`, { jobTitle: 'Unnotified Engineer' })).status).toBe(204);
    await t.stack.directory.deliverNow();
    await t.stack.workerRunsSettled();
    expect(targetUser(user!.mailNickname)?.title).not.toBe('Unnotified Engineer');

    const { handler } = await import('../../functions/workers/sync-job.ts');
    const tick = { tenantId: '00000000-0000-4000-8000-000000000001', servicePrincipalId: SP, jobId, trigger: 'schedule' };
    expect(await handler(tick, workerContext())).toEqual({ outcome: 'steadyState' });
    expect(targetUser(user!.mailNickname)?.title).toBe('Unnotified Engineer');
  });

  it('refuse a notification with a wrong clientState, and answer the validation handshake', async () => {
    const webhook = t.stack.apiUrl.replace(/\/v1\.0$/, '/notifications');
    const forged = await fetch(webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ value: [{ subscriptionId: 'd0d0d0d0-0000-4000-8000-000000000000', clientState: 'guess', changeType: 'updated', resource: 'Users/x' }] }),
    });
    expect(forged.status).toBe(403);
    expect((await forged.json()).error.code).toBe('Authorization_RequestDenied');
    const handshake = await fetch(`${webhook}?validationToken=${encodeURIComponent('Validation: a <token> & more')}`, { method: 'POST' });
    expect(handshake.status).toBe(200);
    expect(handshake.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await handshake.text()).toBe('Validation: a <token> & more');
  });
});
