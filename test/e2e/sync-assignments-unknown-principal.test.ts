import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 2, seedGroups: 0 }); // its service principal id is one the directory lacks
});
afterAll(async () => h?.close());

it('a job whose service principal the directory does not have is quarantined, saying so, and provisions nothing', async () => {
  const jobId = await h.createJob();
  await h.putSecrets(h.scim.url, h.scimToken, false);
  await h.expectOk('POST', `/jobs/${jobId}/start`);
  expect(await h.drainTriggered()).toEqual(['quarantined']);
  const { status } = await h.getJob(jobId);
  expect(status.code).toBe('Quarantine');
  expect(status.quarantine.error.message).toContain(h.servicePrincipalId);
  expect(h.scim.resources('Users')).toEqual([]);
});
