import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../functions/ports/clock.ts';
import { startSyncHarness, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

/**
 * A target that takes 10 requests at once, then one every 50 s (as GitHub's 1,000 users an hour, only faster): an
 * initial sync takes many invocations, each pausing on the target's 429, none quarantining the job.
 */
// From now: the API and the harness's stores keep the wall clock, so the worker's clock must not start behind it.
let time = Date.now();
const clock: Clock = { now: () => new Date(time) };
let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 30, seedGroups: 1, scim: { clock, rateLimit: { requestsPerSecond: 0.02, burst: 10 } } });
});
afterAll(async () => h?.close());

describe('an initial sync into a slow target', () => {
  it('takes its time over many invocations, with its progress in the status, and is never quarantined', async () => {
    const jobId = await h.createJob();
    await h.putSecrets(h.scim.url, h.scimToken);
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    const run = wrappedSyncRun(clock, (port) => port);
    const outcomes: string[] = [];
    const accounts: number[] = [];
    while (outcomes.at(-1) !== 'steadyState') {
      if (outcomes.length >= 40) throw new Error(`no steady state after ${outcomes.join()}`);
      outcomes.push(await run(h.tickOf(jobId, 'schedule'), () => 10 * 60_000));
      accounts.push(h.scim.resources('Users').length);
      const status = (await h.getJob(jobId)).status;
      expect(status.code).toBe('Active');
      expect(status.quarantine).toBeNull();
      // The next tick, a while later: the target has room for another ten.
      time += 10 * 60_000;
    }
    expect(new Set(outcomes.slice(0, -1))).toEqual(new Set(['throttled']));
    expect(outcomes.length).toBeGreaterThan(3);
    // Each invocation got further; none went back.
    expect(accounts).toEqual([...accounts].sort((a, b) => a - b));
    expect(h.scim.resources('Users')).toHaveLength((await h.listAll('users', 'id')).length);
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
  }, 120_000);
});
