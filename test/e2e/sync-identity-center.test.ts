import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunks } from '../../functions/domain/chunks.ts';
import type { ScimTarget } from '../../functions/ports/scim-target.ts';
import type { RecordedRequest } from '../../local/scim-service/local-scim-service.ts';
import { startSyncHarness, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

/** A job into a target that behaves as AWS IAM Identity Center documents its SCIM endpoint (the local profile). */
let h: SyncHarness;
let jobId: string;
let big: { id: string; displayName: string };
const MEMBERS = 250;

type Resource = Record<string, any>;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: MEMBERS + 10, seedGroups: 2, scim: { profile: 'aws-identity-center' } });
  big = await h.graph('POST', 'groups', { displayName: 'AWS Administrators', mailNickname: 'aws-admins', mailEnabled: false, securityEnabled: true });
  const users = await h.listAll('users', 'id');
  for (const batch of chunks(users.slice(0, MEMBERS), 20)) {
    await h.graph('PATCH', `groups/${big.id}`, { 'members@odata.bind': batch.map((user) => `${h.stack.directoryUrl}/directoryObjects/${user.id}`) });
  }
}, 120_000);
afterAll(async () => h?.close());

const scimGet = async (path: string): Promise<any> => {
  const response = await fetch(`${h.scim.url}${path}`, { headers: { authorization: `Bearer ${h.scimToken}`, 'user-agent': 'e2e' } });
  expect(response.status).toBe(200);
  return response.json();
};
const accountOf = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName);
const groupOf = (displayName: string) => (h.scim.resources('Groups') as Resource[]).find((group) => group.displayName === displayName);
/** The groups the target says the account is in, asked as Identity Center documents it (its groups list no members). */
async function groupsOfAccount(accountId: string): Promise<string[]> {
  const page = await scimGet(`/Groups?filter=${encodeURIComponent(`members.value eq "${accountId}"`)}`);
  return ((page.Resources ?? []) as Resource[]).map((group) => group.id as string).sort();
}

/** Every directory member of the group, as target account ids. */
async function expectedMembers(groupId: string): Promise<string[]> {
  const members = await h.listAll(`groups/${groupId}/members` as 'users', 'userPrincipalName');
  return members.map((member) => accountOf(member.userPrincipalName)?.id as string).sort();
}

/** Checks membership user by user, the only way Identity Center tells it. */
async function expectMembership(groupId: string, displayName: string): Promise<void> {
  const targetGroupId = groupOf(displayName)?.id as string;
  expect(targetGroupId).toBeDefined();
  const expected = new Set(await expectedMembers(groupId));
  for (const user of h.scim.resources('Users') as Resource[]) {
    expect((await groupsOfAccount(user.id)).includes(targetGroupId), `${user.userName} in ${displayName}`).toBe(expected.has(user.id));
  }
}

const refused = (requests: readonly RecordedRequest[]) => requests.filter((request) => (request.status ?? 0) >= 400);
const sameRequest = (a: RecordedRequest, b: RecordedRequest) => a.method === b.method && a.path === b.path && JSON.stringify(a.body) === JSON.stringify(b.body);

describe('into AWS IAM Identity Center', () => {
  it('converges users, groups and a group of 250 members, with nothing escrowed', async () => {
    jobId = await h.startedJob();
    const status = (await h.getJob(jobId)).status;
    expect(status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
    const directoryUsers = await h.listAll('users', 'userPrincipalName,givenName,surname');
    expect(h.scim.resources('Users')).toHaveLength(directoryUsers.length);
    for (const user of directoryUsers) {
      expect(accountOf(user.userPrincipalName)).toMatchObject({ name: { givenName: user.givenName, familyName: user.surname }, active: true });
    }
    await expectMembership(big.id, big.displayName);
    for (const group of await h.listAll('groups', 'id,displayName')) await expectMembership(group.id, group.displayName);
  }, 120_000);

  it('after the first cycle, sends it nothing it refuses: updates, disables, renames, member changes beyond 100, deletes', async () => {
    h.scim.clearRequests();
    const members = await h.listAll(`groups/${big.id}/members` as 'users', 'id,userPrincipalName');
    const [renamed, disabled, deleted] = members.slice(-3);
    await h.graph('PATCH', `users/${renamed.id}`, { displayName: 'Renamed Person', jobTitle: 'Cloud Architect' });
    await h.graph('PATCH', `users/${disabled.id}`, { accountEnabled: false });
    await h.graph('DELETE', `users/${deleted.id}`);
    await h.graph('DELETE', `directory/deletedItems/${deleted.id}`);
    const [, dropped] = await h.listAll('groups', 'id,displayName');
    await h.graph('DELETE', `groups/${dropped.id}`);
    // 120 members leave at once: more than Identity Center takes in one PATCH.
    for (const member of members.slice(0, 120)) await h.graph('DELETE', `groups/${big.id}/members/${member.id}/$ref`);
    const groupIdBefore = groupOf(big.displayName)?.id;
    await h.graph('PATCH', `groups/${big.id}`, { displayName: 'AWS Admins' });
    big = { ...big, displayName: 'AWS Admins' };

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(refused(h.scim.requests())).toEqual([]);
    // Renamed in place: the group keeps its id, and so its permission-set assignments.
    expect(groupOf('AWS Admins')?.id).toBe(groupIdBefore);
    expect(accountOf(renamed.userPrincipalName)).toMatchObject({ displayName: 'Renamed Person', title: 'Cloud Architect' });
    expect(accountOf(disabled.userPrincipalName)).toMatchObject({ active: false });
    expect(accountOf(deleted.userPrincipalName)).toBeUndefined();
    expect(groupOf(dropped.displayName)).toBeUndefined();
    await expectMembership(big.id, big.displayName);
    const memberPatches = h.scim.requests().filter((request) => request.method === 'PATCH' && JSON.stringify(request.body).includes('members'));
    expect(memberPatches.length).toBeGreaterThanOrEqual(2);

    // A full round (restart) reads everything again, and is refused nothing either.
    h.scim.clearRequests();
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(refused(h.scim.requests())).toEqual([]);
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
  }, 120_000);

  it('adopts an account created by someone else between its lookup and its create (409), instead of failing', async () => {
    const racer = await h.graph('POST', 'users', {
      userPrincipalName: 'racer@contoso.example',
      displayName: 'Race Condition',
      givenName: 'Race',
      surname: 'Condition',
      mailNickname: 'racer',
      accountEnabled: true,
    });
    // Another provisioning tool creates the same account just before the job's create reaches the target.
    const racing = <T extends object>(port: T): T => {
      if (!('patch' in port)) return port;
      const target = port as unknown as ScimTarget;
      return Object.assign(Object.create(target) as ScimTarget, {
        create: async (...args: Parameters<ScimTarget['create']>) => {
          if (args[1].userName === racer.userPrincipalName) {
            const response = await fetch(`${h.scim.url}/Users`, {
              method: 'POST',
              headers: { authorization: `Bearer ${h.scimToken}`, 'content-type': 'application/scim+json', 'user-agent': 'other-tool' },
              body: JSON.stringify({ ...args[1], displayName: 'Made Elsewhere' }),
            });
            expect(response.status).toBe(201);
          }
          return target.create(...args);
        },
      }) as unknown as T;
    };
    h.scim.clearRequests();
    expect(await wrappedSyncRun({ now: () => new Date() }, racing)(h.tickOf(jobId, 'schedule'), () => 600_000)).toBe('steadyState');
    const accounts = (h.scim.resources('Users') as Resource[]).filter((user) => user.userName === racer.userPrincipalName);
    expect(accounts).toHaveLength(1);
    // Adopted: it takes the directory's values.
    expect(accounts[0]).toMatchObject({ displayName: 'Race Condition' });
    expect(h.scim.requests().filter((request) => request.method === 'POST').map((request) => request.status)).toEqual([201, 409]);
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ countEscrowed: 0 });
  }, 60_000);

  it('a second job into the same target adopts every account and group, and never sends a refused request twice in a row', async () => {
    h.scim.clearRequests();
    const accounts = h.scim.resources('Users').length;
    const groups = h.scim.resources('Groups').length;
    const second = await h.createJob();
    await h.putSecrets(h.scim.url, h.scimToken);
    await h.expectOk('POST', `/jobs/${second}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(h.scim.resources('Users')).toHaveLength(accounts);
    expect(h.scim.resources('Groups')).toHaveLength(groups);
    expect((await h.getJob(second)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
    const requests = h.scim.requests();
    requests.forEach((request, index) => {
      const next = requests[index + 1];
      if ((request.status ?? 0) >= 400 && next) expect(sameRequest(request, next), `${request.method} ${request.path} sent again`).toBe(false);
    });
  }, 120_000);
});
