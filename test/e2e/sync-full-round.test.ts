import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 10, seedGroups: 2 });
});
afterAll(async () => h?.close());

type Resource = Record<string, any>;

async function targetMembersOf(displayName: string): Promise<string[]> {
  const group = (h.scim.resources('Groups') as Resource[]).find((candidate) => candidate.displayName === displayName)!;
  const idToUserName = new Map((h.scim.resources('Users') as Resource[]).map((user) => [user.id, user.userName]));
  return ((group.members ?? []) as { value: string }[]).map((member) => idToUserName.get(member.value) as string).sort();
}

async function sourceMembersOf(groupId: string): Promise<string[]> {
  return (await h.listAll(`groups/${groupId}/members` as 'users', 'userPrincipalName')).map((user) => user.userPrincipalName).sort();
}

describe('a full round (restart Watermark)', () => {
  it('removes target members that left the group while no delta was read', async () => {
    const jobId = await h.startedJob();
    const [group] = await h.listAll('groups', 'id,displayName');
    const before = await sourceMembersOf(group.id);
    expect(before.length).toBeGreaterThan(1);
    expect(await targetMembersOf(group.displayName)).toEqual(before);

    // The change happens, but the job never reads it as a delta: a restart drops the watermark first.
    await h.expectOk('POST', `/jobs/${jobId}/pause`);
    const [leaving] = await h.listAll(`groups/${group.id}/members` as 'users', 'id,userPrincipalName');
    await h.graph('DELETE', `groups/${group.id}/members/${leaving.id}/$ref`);
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);

    const after = await sourceMembersOf(group.id);
    expect(after).not.toContain(leaving.userPrincipalName);
    expect(await targetMembersOf(group.displayName)).toEqual(after);

    // The next full round finds nothing to remove, and sends nothing for memberships already in step.
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    h.scim.clearRequests();
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(h.scim.requests().filter((request) => request.method !== 'GET')).toEqual([]);
    expect(await targetMembersOf(group.displayName)).toEqual(after);
  });
});
