import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunks } from '../../functions/domain/chunks.ts';
import { pool } from '../../functions/use-cases/apply-plan.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

/** Ten times the size at which a group's membership, kept in one item, broke DynamoDB's 400 KB item limit. */
const MEMBERS = Number(process.env.LARGE_GROUP_MEMBERS ?? 12_000);

let h: SyncHarness;
let group: { id: string; displayName: string };

type Resource = Record<string, any>;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: MEMBERS, seedGroups: 0 });
  group = await h.graph('POST', 'groups', { displayName: 'All Employees', mailNickname: 'all', mailEnabled: false, securityEnabled: true });
  const users = await h.listAll('users', 'id');
  // As an admin script would: 20 members a request, the most Graph takes.
  await pool(chunks(users, 20), 4, async (batch) => {
    await h.graph('PATCH', `groups/${group.id}`, { 'members@odata.bind': batch.map((user) => `${h.stack.directoryUrl}/directoryObjects/${user.id}`) });
  });
}, Math.max(300_000, MEMBERS * 30));
afterAll(async () => h?.close());

function targetMembers(): Set<string> {
  const target = (h.scim.resources('Groups') as Resource[]).find((candidate) => candidate.displayName === group.displayName);
  return new Set(((target?.members ?? []) as { value: string }[]).map((member) => member.value));
}

const accountOf = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName)?.id as string;

describe(`a group of ${MEMBERS.toLocaleString('en')} members`, () => {
  it('syncs, takes changes, and completes full rounds', async () => {
    const jobId = await h.startedJob();
    expect(targetMembers().size).toBe(MEMBERS);
    const status = (await h.getJob(jobId)).status;
    expect(status.synchronizedEntryCountByType).toEqual([{ key: 'User', value: MEMBERS }, { key: 'Group', value: 1 }]);

    // A member leaves, a new user joins.
    const [leaving] = await h.listAll(`groups/${group.id}/members` as 'users', 'id,userPrincipalName');
    await h.graph('DELETE', `groups/${group.id}/members/${leaving.id}/$ref`);
    const joining = await h.graph('POST', 'users', { userPrincipalName: 'joining@contoso.example', displayName: 'Joining', mailNickname: 'joining', accountEnabled: true });
    await h.graph('POST', `groups/${group.id}/members/$ref`, { '@odata.id': `${h.stack.directoryUrl}/directoryObjects/${joining.id}` });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    let members = targetMembers();
    expect(members.size).toBe(MEMBERS);
    expect(members.has(accountOf(leaving.userPrincipalName))).toBe(false);
    expect(members.has(accountOf('joining@contoso.example'))).toBe(true);

    // A member removed while no delta is read: the full round after a restart finds it and removes it.
    await h.expectOk('POST', `/jobs/${jobId}/pause`);
    const [gone] = await h.listAll(`groups/${group.id}/members` as 'users', 'id,userPrincipalName');
    await h.graph('DELETE', `groups/${group.id}/members/${gone.id}/$ref`);
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    members = targetMembers();
    expect(members.size).toBe(MEMBERS - 1);
    expect(members.has(accountOf(gone.userPrincipalName))).toBe(false);
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
  }, Math.max(900_000, MEMBERS * 60));
});
