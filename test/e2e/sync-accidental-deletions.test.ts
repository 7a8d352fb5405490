import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 10, seedGroups: 1 });
});
afterAll(async () => h?.close());

type Resource = Record<string, any>;
const activeOf = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName)?.active;

function putSecrets(notificationSettings: object) {
  return h.expectOk('PUT', '/secrets', {
    value: [
      { key: 'BaseAddress', value: h.scim.url },
      { key: 'SecretToken', value: h.scimToken },
      { key: 'SyncNotificationSettings', value: JSON.stringify(notificationSettings) },
      { key: 'SyncAll', value: 'true' },
    ],
  });
}

describe('accidental-deletion prevention', () => {
  it('quarantines a cycle that would disable more than the threshold, applying none of it, until restart ForceDeletes', async () => {
    await putSecrets({ Enabled: false, DeleteThresholdEnabled: true, DeleteThresholdValue: 2 });
    const jobId = await h.createJob();
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);

    const users = (await h.listAll('users', 'id,userPrincipalName,accountEnabled')).filter((user) => user.accountEnabled !== false);
    const leaving = users.slice(0, 3);
    for (const user of leaving) await h.graph('DELETE', `users/${user.id}`);

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('quarantined');
    const status = (await h.getJob(jobId)).status;
    expect(status.code).toBe('Quarantine');
    expect(status.quarantine).toMatchObject({ reason: 'TooManyDeletes', error: { code: 'TooManyDeletes', tenantActionable: true } });
    expect(status.quarantine.error.message).toMatch(/3 objects.*threshold of 2.*ForceDeletes/);
    for (const user of leaving) expect(activeOf(user.userPrincipalName)).toBe(true);

    // Start alone lifts the quarantine but the cycle is held again: the admin has to allow the deletes.
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['quarantined']);

    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'ForceDeletes' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    for (const user of leaving) expect(activeOf(user.userPrincipalName)).toBe(false);
    const after = (await h.getJob(jobId)).status;
    expect(after.code).toBe('Active');
    expect(after.quarantine).toBeNull();
  });

  it('lets a cycle under the threshold through, and does nothing when the protection is off', async () => {
    await putSecrets({ DeleteThresholdEnabled: false, DeleteThresholdValue: 1 });
    const jobId = await h.createJob();
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    const users = (await h.listAll('users', 'id,userPrincipalName,accountEnabled')).filter((user) => user.accountEnabled !== false);
    for (const user of users.slice(0, 2)) await h.graph('PATCH', `users/${user.id}`, { accountEnabled: false });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    for (const user of users.slice(0, 2)) expect(activeOf(user.userPrincipalName)).toBe(false);
  });
});
