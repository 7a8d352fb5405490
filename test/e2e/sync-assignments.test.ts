import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SERVICE_PRINCIPAL_ID } from '../../local/directory/demo-seed.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

// "Sync only assigned users and groups" (SyncAll false, Entra's default) against the demo directory, whose seed
// assigns one group and a few users to the demo app.
let h: SyncHarness;
let jobId: string;
type Resource = Record<string, any>;
const DEFAULT_ROLE = '00000000-0000-0000-0000-000000000000';
const SP = DEMO_SERVICE_PRINCIPAL_ID;

const account = (userPrincipalName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userPrincipalName);
const targetGroup = (displayName: string) => (h.scim.resources('Groups') as Resource[]).find((group) => group.displayName === displayName);
const membersOf = (displayName: string) => ((targetGroup(displayName)?.members ?? []) as { value: string }[]).map((member) => member.value).sort();

async function assignments(): Promise<{ id: string; principalId: string; principalType: string }[]> {
  return (await h.graph('GET', `servicePrincipals/${SP}/appRoleAssignedTo`)).value;
}
const assign = (principalId: string) => h.graph('POST', `servicePrincipals/${SP}/appRoleAssignedTo`, { principalId, resourceId: SP, appRoleId: DEFAULT_ROLE });
async function unassign(principalId: string): Promise<void> {
  const assignment = (await assignments()).find((candidate) => candidate.principalId === principalId)!;
  await h.graph('DELETE', `servicePrincipals/${SP}/appRoleAssignedTo/${assignment.id}`);
}
async function directMembers(groupId: string): Promise<Resource[]> {
  return (await h.listAll(`groups/${groupId}/members` as 'users', 'id,userPrincipalName')).filter((member) => member['@odata.type'] === '#microsoft.graph.user');
}

/** The userPrincipalNames in scope: assigned users and the direct members of assigned groups. */
async function inScope(users: Resource[]): Promise<string[]> {
  const principals = await assignments();
  const names = new Set(users.filter((user) => principals.some((a) => a.principalType === 'User' && a.principalId === user.id)).map((user) => user.userPrincipalName));
  for (const group of principals.filter((a) => a.principalType === 'Group')) {
    for (const member of await directMembers(group.principalId)) names.add(member.userPrincipalName);
  }
  return [...names].sort();
}
const activeAccounts = () => (h.scim.resources('Users') as Resource[]).filter((user) => user.active !== false).map((user) => user.userName as string).sort();

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 18, seedGroups: 3, servicePrincipalId: SP });
  jobId = await h.createJob();
  await h.putSecrets(h.scim.url, h.scimToken, false);
  await h.expectOk('POST', `/jobs/${jobId}/start`);
  expect(await h.drainTriggered()).toEqual(['steadyState']);
});
afterAll(async () => h?.close());

describe('assignment scope (SyncAll false)', () => {
  it('provisions only the assigned group, its members and the assigned users', async () => {
    const users = await h.listAll('users', 'id,userPrincipalName');
    const expected = await inScope(users);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(users.length);
    expect(activeAccounts()).toEqual(expected);
    const groups = await h.listAll('groups', 'id,displayName');
    const assignedGroups = (await assignments()).filter((a) => a.principalType === 'Group').map((a) => a.principalId);
    expect((h.scim.resources('Groups') as Resource[]).map((group) => group.displayName).sort()).toEqual(
      groups.filter((group) => assignedGroups.includes(group.id)).map((group) => group.displayName).sort(),
    );
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded' });
  });

  it('assigning a group brings it and its members in on "sync now"; removing a member disables it; unassigning deletes the group', async () => {
    const groups = await h.listAll('groups', 'id,displayName');
    const assignedGroups = new Set((await assignments()).filter((a) => a.principalType === 'Group').map((a) => a.principalId));
    const group = groups.find((candidate) => !assignedGroups.has(candidate.id))!;
    const members = await directMembers(group.id);
    expect(members.length).toBeGreaterThan(1);
    expect(targetGroup(group.displayName)).toBeUndefined();

    await assign(group.id);
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(targetGroup(group.displayName)).toBeDefined();
    expect(membersOf(group.displayName)).toEqual(members.map((member) => account(member.userPrincipalName)!.id).sort());
    for (const member of members) expect(account(member.userPrincipalName)!.active).toBe(true);

    // A member that nothing else keeps in scope (not assigned itself), and one that is: only the first is disabled.
    const direct = new Set((await assignments()).filter((a) => a.principalType === 'User').map((a) => a.principalId));
    const leaving = members.find((member) => !direct.has(member.id))!;
    const kept = members.find((member) => direct.has(member.id));
    const stillIn = async () => (await inScope(await h.listAll('users', 'id,userPrincipalName'))).includes(leaving.userPrincipalName);
    await h.graph('DELETE', `groups/${group.id}/members/${leaving.id}/$ref`);
    if (kept) await h.graph('DELETE', `groups/${group.id}/members/${kept.id}/$ref`);
    await h.runJob(jobId, 'schedule');
    expect(membersOf(group.displayName)).not.toContain(account(leaving.userPrincipalName)!.id);
    expect(account(leaving.userPrincipalName)!.active).toBe(await stillIn());
    expect(account(leaving.userPrincipalName)!.active).toBe(false);
    if (kept) expect(account(kept.userPrincipalName)!.active).toBe(true);

    await unassign(group.id);
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(targetGroup(group.displayName)).toBeUndefined();
    expect(activeAccounts()).toEqual(await inScope(await h.listAll('users', 'id,userPrincipalName')));
  });

  it('a user assigned directly arrives at once, and is disabled when unassigned', async () => {
    const users = await h.listAll('users', 'id,userPrincipalName');
    const scoped = new Set(await inScope(users));
    const user = users.find((candidate) => !scoped.has(candidate.userPrincipalName))!;
    await assign(user.id);
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    await h.drainTriggered();
    expect(account(user.userPrincipalName)?.active).toBe(true);

    await unassign(user.id);
    await h.runJob(jobId, 'schedule');
    expect(account(user.userPrincipalName)?.active).toBe(false);
    expect(activeAccounts()).toEqual(await inScope(await h.listAll('users', 'id,userPrincipalName')));
  });

  it('an idle tick with unchanged assignments writes nothing but its round', async () => {
    const before = h.scim.requests().length;
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(h.scim.requests().slice(before).filter((request) => request.method !== 'GET')).toEqual([]);
  });
});
