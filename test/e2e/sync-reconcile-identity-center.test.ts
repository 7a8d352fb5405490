import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../local/scim-service/local-scim-service.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

/** Reading back a target that lists groups without members (the local SCIM service as AWS IAM Identity Center). */
let h: SyncHarness;
let jobId: string;

type Resource = Record<string, any>;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 14, seedGroups: 2, scim: { profile: 'aws-identity-center' } });
  jobId = await h.startedJob();
}, 60_000);
afterAll(async () => h?.close());

async function scim(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${h.scim.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${h.scimToken}`, 'content-type': 'application/scim+json', 'user-agent': 'someone-else' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}
const patchOp = (Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });
const accountOf = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName);
const groupOf = (displayName: string) => (h.scim.resources('Groups') as Resource[]).find((group) => group.displayName === displayName);
/** The groups the target says an account is in, asked as Identity Center documents it. */
async function groupsOfAccount(accountId: string): Promise<string[]> {
  const page = await scim('GET', `/Groups?filter=${encodeURIComponent(`members.value eq "${accountId}"`)}`);
  return ((page.Resources ?? []) as Resource[]).map((group) => group.id as string).sort();
}

/** Every account is in exactly the target groups of its user's directory groups. */
async function expectMemberships(): Promise<void> {
  const groupsOfUser = new Map<string, string[]>();
  for (const group of await h.listAll('groups', 'id,displayName')) {
    for (const member of await h.listAll(`groups/${group.id}/members` as 'users', 'userPrincipalName')) {
      groupsOfUser.set(member.userPrincipalName, [...(groupsOfUser.get(member.userPrincipalName) ?? []), groupOf(group.displayName)!.id]);
    }
  }
  for (const account of h.scim.resources('Users') as Resource[]) {
    expect(await groupsOfAccount(account.id), account.userName).toEqual((groupsOfUser.get(account.userName) ?? []).sort());
  }
}

const countsOf = (status: any) => Object.fromEntries((status.synchronizedEntryCountByType as { key: string; value: number }[]).map((entry) => [entry.key, entry.value]));
const refused = (requests: readonly RecordedRequest[]) => requests.filter((request) => (request.status ?? 0) >= 400);

describe('reading back AWS IAM Identity Center', () => {
  it('repairs a deleted account, a lost membership and a changed name, finding memberships from the users side', async () => {
    const [group] = await h.listAll('groups', 'id,displayName');
    const members = await h.listAll(`groups/${group.id}/members` as 'users', 'userPrincipalName,displayName');
    expect(members.length).toBeGreaterThan(2);
    const [deleted, removed, renamed] = members;
    const targetGroupId = groupOf(group.displayName)!.id;
    await scim('DELETE', `/Users/${accountOf(deleted.userPrincipalName)!.id}`);
    await scim('PATCH', `/Groups/${targetGroupId}`, patchOp([{ op: 'remove', path: `members[value eq "${accountOf(removed.userPrincipalName)!.id}"]` }]));
    await scim('PATCH', `/Users/${accountOf(renamed.userPrincipalName)!.id}`, patchOp([{ op: 'replace', path: 'displayName', value: 'Changed In The App' }]));
    expect(await groupsOfAccount(accountOf(removed.userPrincipalName)!.id)).not.toContain(targetGroupId);

    h.scim.clearRequests();
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);

    expect(accountOf(deleted.userPrincipalName)).toBeDefined();
    expect(accountOf(renamed.userPrincipalName)).toMatchObject({ displayName: renamed.displayName });
    expect(h.scim.resources('Users')).toHaveLength((await h.listAll('users', 'id')).length);
    await expectMemberships();
    // Member lists were read by the users' side, in cursor pages; nothing was sent that Identity Center refuses.
    const listings = h.scim.requests().filter((request) => request.method === 'GET' && request.path.includes('groups.value'));
    expect(listings.length).toBeGreaterThan(0);
    expect(listings.every((request) => request.path.includes('cursor'))).toBe(true);
    // Nothing refused but the read that found the deleted account gone (it was created again, not patched first).
    expect(refused(h.scim.requests()).map((request) => `${request.method} ${request.status}`)).toEqual(['GET 404']);
    // Exactly what was changed is counted (a target that keeps one value of each kind is not taken for drift).
    expect(countsOf((await h.getJob(jobId)).status)).toMatchObject({ TargetObjectsRepaired: 3, TargetMembershipsRestored: 1 });

    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(countsOf((await h.getJob(jobId)).status)).toMatchObject({ TargetObjectsRepaired: 0, TargetMembershipsRestored: 0 });
  }, 60_000);
});
