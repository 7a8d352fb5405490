import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../functions/ports/clock.ts';
import type { ScimTarget } from '../../functions/ports/scim-target.ts';
import { startSyncHarness, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;

type Resource = Record<string, any>;
const titleOf = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName)?.title;

/** A worker whose clock the test moves; ports as deployed. */
function workerAt(clock: Clock, wrap: <T extends object>(port: T) => T = (port) => port) {
  return wrappedSyncRun(clock, wrap);
}

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 30, seedGroups: 1 });
  jobId = await h.startedJob();
});
afterAll(async () => h?.close());

describe('a throttled target', () => {
  it('pauses the run until its Retry-After, escrowing and quarantining nothing, then carries on', async () => {
    const users = await h.listAll('users', 'id,userPrincipalName');
    for (const user of users.slice(0, 6)) await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'Throttled' });
    h.scim.failNext({ status: 429, retryAfter: '60', times: 100 });
    let time = Date.now();
    const clock: Clock = { now: () => new Date(time) };
    const tick = { ...h.tickOf(jobId, 'schedule') };

    expect(await workerAt(clock)(tick, () => 10 * 60_000)).toBe('throttled');
    const paused = (await h.getJob(jobId)).status;
    expect(paused.code).toBe('Active');
    expect(paused.quarantine).toBeNull();
    expect(paused.lastExecution).toMatchObject({ state: 'Failed', countEscrowed: 0, error: { code: 'TargetThrottled', tenantActionable: false } });
    expect(paused.lastExecution.error.message).toMatch(/429/);
    h.scim.clearFaults();

    // Before the target's time, a tick does nothing at all.
    h.scim.clearRequests();
    expect(await workerAt(clock)(tick, () => 10 * 60_000)).toBe('throttled');
    expect(h.scim.requests()).toEqual([]);

    time += 61_000;
    expect(await workerAt(clock)(tick, () => 10 * 60_000)).toBe('steadyState');
    for (const user of users.slice(0, 6)) expect(titleOf(user.userPrincipalName)).toBe('Throttled');
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
  });

  it('a target that answers 503 to everything pauses the run the same way, and a start tries at once', async () => {
    const [user] = await h.listAll('users', 'id,userPrincipalName');
    await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'After The Outage' });
    h.scim.failNext({ status: 503, times: 1000 });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('throttled');
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ countEscrowed: 0 });
    h.scim.clearFaults();
    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    expect(titleOf(user.userPrincipalName)).toBe('After The Outage');
  });
});

describe('the time budget', () => {
  it('is checked inside a page: a slow target ends the run part-way, and the next run finishes it once', async () => {
    const users = await h.listAll('users', 'id,userPrincipalName');
    for (const user of users) await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'Budgeted' });
    let patches = 0;
    const counting = <T extends object>(port: T): T => {
      if (!('patch' in port)) return port;
      const target = port as unknown as ScimTarget;
      return Object.assign(Object.create(target) as ScimTarget, {
        patch: async (...args: Parameters<ScimTarget['patch']>) => {
          patches += 1;
          return target.patch(...args);
        },
      }) as unknown as T;
    };
    const clock: Clock = { now: () => new Date() };
    // The invocation has plenty of time until the fifth PATCH, then less than the run's safety margin.
    const remaining = () => (patches >= 5 ? 1_000 : 10 * 60_000);
    expect(await workerAt(clock, counting)(h.tickOf(jobId, 'schedule'), remaining)).toBe('outOfTime');
    const done = users.filter((user) => titleOf(user.userPrincipalName) === 'Budgeted').length;
    expect(done).toBeGreaterThanOrEqual(5);
    expect(done).toBeLessThan(users.length);

    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'continue')).outcome).toBe('steadyState');
    for (const user of users) expect(titleOf(user.userPrincipalName)).toBe('Budgeted');
    // What the first run applied is not sent again.
    expect(h.scim.requests().filter((request) => request.method === 'PATCH')).toHaveLength(users.length - done);
  });
});

describe('a renamed group', () => {
  it('is renamed in the target', async () => {
    const [group] = await h.listAll('groups', 'id,displayName');
    const before = (h.scim.resources('Groups') as Resource[]).find((candidate) => candidate.displayName === group.displayName)!;
    await h.graph('PATCH', `groups/${group.id}`, { displayName: 'Renamed Group' });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const after = (h.scim.resources('Groups') as Resource[]).find((candidate) => candidate.id === before.id)!;
    expect(after.displayName).toBe('Renamed Group');
    expect(after.externalId).toBe(group.id);
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ countExported: 1 });
  });
});
