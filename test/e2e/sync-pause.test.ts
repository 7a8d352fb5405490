import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/ports/clock.ts';
import type { DirectorySource } from '../../functions/ports/directory-source.ts';
import { startSyncHarness, workerContext, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

const USERS = 1250; // three pages of delta, as the engine asks for them (Prefer: odata.maxpagesize=500)

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: USERS, seedGroups: 1 });
});
afterAll(async () => h?.close());

describe('pause during a run', () => {
  it('stops the run at the next page boundary with that page saved; start continues without duplicates', async () => {
    const jobId = await h.createJob();
    await h.putSecrets(h.scim.url, h.scimToken);
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    h.discardTriggered(); // this test runs the worker its own way

    let pages = 0;
    const pausingAfterFirstPage = wrappedSyncRun(systemClock, (port) => {
      if (!('readPage' in port)) return port;
      const source = port as unknown as DirectorySource;
      const wrapped: DirectorySource = Object.assign(Object.create(source) as DirectorySource, {
        readPage: async (watermark: string | null) => {
          pages += 1;
          if (pages === 2) await h.expectOk('POST', `/jobs/${jobId}/pause`);
          return source.readPage(watermark);
        },
      });
      return wrapped as unknown as typeof port;
    });
    const tick = { tenantId: h.tenantId, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'start' as const };

    expect(await pausingAfterFirstPage(tick, () => workerContext().getRemainingTimeInMillis())).toBe('paused');
    expect(pages).toBe(2);
    const paused = await h.getJob(jobId);
    expect(paused.status.code).toBe('Paused');
    // The second page is read ahead while the first is applied, so the pause is seen at the boundary after the first
    // page or, if it lands later, after the second: one or two pages saved, out of every user and group the directory
    // held when the round began.
    const [progress] = paused.status.progress;
    expect(progress).toMatchObject({ totalUnits: USERS + 1, units: 'objects' });
    expect([500, 1000]).toContain(progress.completedUnits);
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('inactive');

    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    const users = h.scim.resources('Users') as { userName: string }[];
    expect(users).toHaveLength(USERS);
    expect(new Set(users.map((user) => user.userName)).size).toBe(users.length);
    expect((await h.getJob(jobId)).status.code).toBe('Active');
  });
});
