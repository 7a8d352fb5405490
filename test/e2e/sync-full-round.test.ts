import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 18, seedGroups: 2 });
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

  it('after an expired delta token, deprovisions what was deleted while no delta could be read', async () => {
    const jobId = await h.startedJob();
    const [, group] = await h.listAll('groups', 'id,displayName');
    const [hard, soft, kept] = await h.listAll(`groups/${group.id}/members` as 'users', 'id,userPrincipalName');
    await h.expectOk('POST', `/jobs/${jobId}/pause`);
    await h.graph('DELETE', `users/${hard.id}`);
    await h.graph('DELETE', `directory/deletedItems/${hard.id}`);
    await h.graph('DELETE', `users/${soft.id}`);
    // A week passes: the delta token is gone, and Graph answers 410.
    h.stack.directory.expireDeltaTokens();

    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    const users = h.scim.resources('Users') as Resource[];
    expect(users.find((user) => user.userName === hard.userPrincipalName)).toBeUndefined();
    expect(users.find((user) => user.userName === soft.userPrincipalName)?.active).toBe(false);
    expect(users.find((user) => user.userName === kept.userPrincipalName)?.active).toBe(true);
    expect(await targetMembersOf(group.displayName)).toEqual(await sourceMembersOf(group.id));
    const status = (await h.getJob(jobId)).status;
    expect(status.lastExecution).toMatchObject({ state: 'Succeeded' });
    expect(status.synchronizedEntryCountByType).toContainEqual({ key: 'User', value: users.filter((user) => user.userName !== hard.userPrincipalName).length });
  });
});
