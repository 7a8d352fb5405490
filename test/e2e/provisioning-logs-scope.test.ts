import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SERVICE_PRINCIPAL_ID } from '../../local/directory/demo-seed.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

/** The records of a job that syncs only what is assigned (the demo app), into a target that holds an account already. */
let h: SyncHarness;
let jobId: string;
let existing: { id: string; userName: string };

type Summary = Record<string, any>;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 12, seedGroups: 3, servicePrincipalId: DEMO_SERVICE_PRINCIPAL_ID });
  const assignments = (await h.graph('GET', `servicePrincipals/${DEMO_SERVICE_PRINCIPAL_ID}/appRoleAssignedTo`)).value as { principalId: string; principalType: string }[];
  const assignedUser = assignments.find((assignment) => assignment.principalType === 'User')!;
  const user = await h.graph('GET', `users/${assignedUser.principalId}`);
  const response = await fetch(`${h.scim.url}/Users`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.scimToken}`, 'content-type': 'application/scim+json' },
    body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: user.userPrincipalName, active: true }),
  });
  existing = (await response.json()) as { id: string; userName: string };
  jobId = await h.createJob();
  await h.putSecrets(h.scim.url, h.scimToken, false);
  await h.expectOk('POST', `/jobs/${jobId}/start`);
  expect(await h.drainTriggered()).toEqual(['steadyState']);
});
afterAll(async () => h?.close());

async function records(filter: string): Promise<Summary[]> {
  const { status, body } = await h.getV1(`/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${jobId}' and ${filter}`)}&$top=1000`);
  expect(status).toBe(200);
  return body.value;
}

describe('provisioning logs under assignment scope', () => {
  it('record each user left out for not being assigned, with the reason', async () => {
    const skipped = await records("provisioningStatusInfo/status eq 'skipped'");
    expect(skipped.length).toBeGreaterThan(0);
    for (const record of skipped) {
      expect(record.provisioningSteps[1]).toMatchObject({ provisioningStepType: 'scoping', status: 'skipped', details: { SkipReason: 'notEffectivelyEntitled' } });
      expect(record.provisioningSteps[1].description).toMatch(/not assigned/);
    }
    const created = (await records("provisioningAction eq 'create'")).map((record) => record.sourceIdentity.id);
    expect(skipped.some((record) => created.includes(record.sourceIdentity.id))).toBe(false);
  });

  it('record an adopted account as its create, naming the account the target had', async () => {
    const [adopted] = await records(`targetIdentity/id eq '${existing.id}'`);
    expect(adopted).toMatchObject({ provisioningAction: 'create', provisioningStatusInfo: { status: 'success' }, targetIdentity: { id: existing.id, identityType: 'User' } });
    expect(h.scim.resources('Users').filter((user) => user.userName === existing.userName)).toHaveLength(1);
  });
});
