import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;

type Resource = Record<string, any>;
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const account = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName);
const department = (userName: string) => account(userName)?.[ENTERPRISE]?.department;
const refuse = (times: number) => h.scim.failNext({ status: 400, scimType: 'invalidValue', detail: 'refused for the test', times });

async function newUser(nickname: string): Promise<{ id: string; userPrincipalName: string }> {
  return h.graph('POST', 'users', {
    userPrincipalName: `${nickname}@contoso.example`,
    displayName: nickname,
    mailNickname: nickname,
    accountEnabled: true,
  });
}

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 4, seedGroups: 1 });
  jobId = await h.startedJob();
});
afterAll(async () => h?.close());

describe('escrows', () => {
  it('never revert a newer change: a retry applies the object as it is now', async () => {
    const [user] = await h.listAll('users', 'id,userPrincipalName');
    await h.graph('PATCH', `users/${user.id}`, { department: 'V1' });
    refuse(1);
    await h.runJob(jobId, 'schedule');
    expect(department(user.userPrincipalName)).not.toBe('V1');

    // V2 is refused too, then the escrow comes due: the retry reads the user again and sends V2, not V1.
    await h.graph('PATCH', `users/${user.id}`, { department: 'V2' });
    refuse(1);
    await h.runJob(jobId, 'schedule');
    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    expect(department(user.userPrincipalName)).toBe('V2');

    // A change applied by a page clears the object's escrow: nothing is left to send V1 later.
    await h.graph('PATCH', `users/${user.id}`, { department: 'V3' });
    refuse(1);
    await h.runJob(jobId, 'schedule');
    await h.graph('PATCH', `users/${user.id}`, { department: 'V4' });
    await h.runJob(jobId, 'schedule');
    expect(department(user.userPrincipalName)).toBe('V4');
    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    expect(h.scim.requests()).toEqual([]);
    expect(department(user.userPrincipalName)).toBe('V4');
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ countEscrowed: 0 });
  });

  it('never bring back a deleted user: an escrowed create of a user deleted meanwhile is dropped', async () => {
    const ghost = await newUser('ghost');
    refuse(1); // its match query: refused, it is escrowed before any create
    await h.runJob(jobId, 'schedule');
    expect(account(ghost.userPrincipalName)).toBeUndefined();
    await h.graph('DELETE', `users/${ghost.id}`);
    await h.graph('DELETE', `directory/deletedItems/${ghost.id}`);

    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    expect(account(ghost.userPrincipalName)).toBeUndefined();
  });

  it('never leave a deleted user active: a user deleted while its update was escrowed is deleted in the target', async () => {
    const gone = await newUser('gone');
    await h.runJob(jobId, 'schedule');
    expect(account(gone.userPrincipalName)?.active).toBe(true);
    await h.graph('PATCH', `users/${gone.id}`, { jobTitle: 'Leaving' });
    refuse(1);
    await h.runJob(jobId, 'schedule');
    await h.graph('DELETE', `users/${gone.id}`);
    await h.graph('DELETE', `directory/deletedItems/${gone.id}`);

    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    expect(account(gone.userPrincipalName)).toBeUndefined();
  });

  it('give every escrow its turn, however many there are', async () => {
    const created = [];
    for (let i = 0; i < 130; i++) created.push(await newUser(`many${i}`));
    refuse(10_000);
    await h.runJob(jobId, 'schedule');
    h.scim.clearFaults();
    const refused = (await h.getJob(jobId)).status.lastExecution;
    expect(refused).toMatchObject({ state: 'EntryLevelErrors', countEscrowed: 130 });
    expect(refused.error.message).toMatch(/130 objects were not provisioned.*refused for the test/);

    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    for (const user of created) expect(account(user.userPrincipalName)?.active).toBe(true);
    const status = (await h.getJob(jobId)).status;
    expect(status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
    // Nothing is left: the next ticks are idle again.
    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    expect(h.scim.requests()).toEqual([]);
  });
});
