import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  // Entra looks at its escrow thresholds from 5,000 refusals a cycle; a small job here shows the same rule at 10.
  process.env.ESCROW_THRESHOLD_MINIMUM = '10';
  h = await startSyncHarness({ seedUsers: 0, seedGroups: 0 });
});
afterAll(async () => {
  delete process.env.ESCROW_THRESHOLD_MINIMUM;
  await h?.close();
});

describe("Entra's escrow thresholds", () => {
  it('quarantine a job whose target refuses most of what it is sent, instead of resending it every run', async () => {
    for (let i = 0; i < 30; i++) {
      await h.graph('POST', 'users', { userPrincipalName: `refused${i}@contoso.example`, displayName: `Refused ${i}`, mailNickname: `refused${i}`, accountEnabled: true });
    }
    const jobId = await h.createJob();
    await h.putSecrets(h.scim.url, h.scimToken);
    h.scim.failNext({ status: 400, scimType: 'uniqueness', detail: 'userName already exists', times: 10_000 });
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['quarantined']);

    const status = (await h.getJob(jobId)).status;
    expect(status.code).toBe('Quarantine');
    expect(status.quarantine).toMatchObject({ reason: 'EncounteredEscrowProportionThreshold', error: { code: 'EscrowThreshold', tenantActionable: true } });
    expect(status.quarantine.error.message).toMatch(/refused 30 of 30 objects.*userName already exists/);
    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('quarantineBackoff');
    expect(h.scim.requests()).toEqual([]);

    // Fixed in the target, a restart lifts the quarantine, drops the escrows and provisions everyone.
    h.scim.clearFaults();
    await h.expectOk('POST', `/jobs/${jobId}/restart`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(h.scim.resources('Users')).toHaveLength(30);
    expect((await h.getJob(jobId)).status).toMatchObject({ code: 'Active', quarantine: null });
  });
});
