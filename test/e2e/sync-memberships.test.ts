import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;
let group: { id: string; displayName: string };

type Resource = Record<string, any>;
const accountId = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName)?.id as string | undefined;
const targetGroup = () => (h.scim.resources('Groups') as Resource[]).find((candidate) => candidate.displayName === group.displayName);
const targetMembers = () => ((targetGroup()?.members ?? []) as { value: string }[]).map((member) => member.value).sort();

/** The target ids the group should hold: its direct user members in the directory, as the target knows them. */
async function expectedMembers(): Promise<(string | undefined)[]> {
  const members = await h.listAll(`groups/${group.id}/members` as 'users', 'userPrincipalName');
  return members.map((member) => accountId(member.userPrincipalName)).sort();
}

async function newUser(nickname: string, accountEnabled = true): Promise<{ id: string; userPrincipalName: string }> {
  return h.graph('POST', 'users', { userPrincipalName: `${nickname}@contoso.example`, displayName: nickname, mailNickname: nickname, accountEnabled });
}

const addMember = (userId: string) => h.graph('POST', `groups/${group.id}/members/$ref`, { '@odata.id': `${h.stack.directoryUrl}/directoryObjects/${userId}` });

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 12, seedGroups: 1 });
  jobId = await h.startedJob();
  [group] = await h.listAll('groups', 'id,displayName');
});
afterAll(async () => h?.close());

describe('memberships', () => {
  it('a member whose user could not be created yet joins the group once the user is created', async () => {
    const late = await newUser('late');
    await addMember(late.id);
    h.scim.failNext({ status: 400, detail: 'refused for the test', times: 1 }); // the user's match query
    await h.runJob(jobId, 'schedule');
    expect(accountId(late.userPrincipalName)).toBeUndefined();

    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    const id = accountId(late.userPrincipalName);
    expect(id).toBeDefined();
    expect(targetMembers()).toContain(id);
    expect(targetMembers()).toEqual(await expectedMembers());
  });

  it('a disabled member is not provisioned, and joins the group when it is enabled', async () => {
    const dormant = await newUser('dormant', false);
    await addMember(dormant.id);
    await h.runJob(jobId, 'schedule');
    expect(accountId(dormant.userPrincipalName)).toBeUndefined();

    await h.graph('PATCH', `users/${dormant.id}`, { accountEnabled: true });
    await h.runJob(jobId, 'schedule');
    expect(targetMembers()).toContain(accountId(dormant.userPrincipalName));
    expect(targetMembers()).toEqual(await expectedMembers());
  });

  it('a group deleted in the target behind the job comes back with every member', async () => {
    const before = targetGroup()!;
    const deleted = await fetch(`${h.scim.url}/Groups/${before.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${h.scimToken}` } });
    expect(deleted.status).toBe(204);
    const one = await newUser('one-more');
    await h.runJob(jobId, 'schedule');
    await addMember(one.id);

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(targetGroup()?.id).not.toBe(before.id);
    expect(targetMembers()).toEqual(await expectedMembers());
    expect(targetMembers().length).toBeGreaterThan(2);
  });

  it('a user deleted in the target behind the job comes back in its groups', async () => {
    const [member] = await h.listAll(`groups/${group.id}/members` as 'users', 'id,userPrincipalName');
    const before = accountId(member.userPrincipalName)!;
    const deleted = await fetch(`${h.scim.url}/Users/${before}`, { method: 'DELETE', headers: { authorization: `Bearer ${h.scimToken}` } });
    expect(deleted.status).toBe(204);
    await h.graph('PATCH', `users/${member.id}`, { jobTitle: 'Back Again' });

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const again = accountId(member.userPrincipalName);
    expect(again).not.toBe(before);
    expect(targetMembers()).toContain(again);
    expect(targetMembers()).toEqual(await expectedMembers());
  });

  it('a member removed in the directory is removed from the target, and nested groups are not members', async () => {
    const [member] = await h.listAll(`groups/${group.id}/members` as 'users', 'id,userPrincipalName');
    await h.graph('DELETE', `groups/${group.id}/members/${member.id}/$ref`);
    const nested = await h.graph('POST', 'groups', { displayName: 'Nested', mailNickname: 'nested', mailEnabled: false, securityEnabled: true });
    await h.graph('POST', `groups/${group.id}/members/$ref`, { '@odata.id': `${h.stack.directoryUrl}/directoryObjects/${nested.id}` });

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(targetMembers()).not.toContain(accountId(member.userPrincipalName));
    const nestedTarget = (h.scim.resources('Groups') as Resource[]).find((candidate) => candidate.displayName === 'Nested');
    expect(targetMembers()).not.toContain(nestedTarget?.id);
    const users = await h.listAll(`groups/${group.id}/members` as 'users', 'userPrincipalName');
    expect(targetMembers()).toEqual(users.filter((user) => user.userPrincipalName).map((user) => accountId(user.userPrincipalName)).sort());
  });
});
