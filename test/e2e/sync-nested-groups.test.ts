import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

// The job setting FlattenNestedGroups: a user of a group nested at any depth is a member of every group above it.
let h: SyncHarness;
let jobId: string;
type Resource = Record<string, any>;
type Ref = { id: string; name: string };

const accountId = (nickname: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === `${nickname}@contoso.example`)?.id as string;
const membersOf = (group: Ref) =>
  (((h.scim.resources('Groups') as Resource[]).find((candidate) => candidate.displayName === group.name)?.members ?? []) as { value: string }[])
    .map((member) => member.value)
    .sort();
const accounts = (...nicknames: string[]) => nicknames.map(accountId).sort();

async function newUser(nickname: string): Promise<Ref> {
  const user = await h.graph('POST', 'users', { userPrincipalName: `${nickname}@contoso.example`, displayName: nickname, mailNickname: nickname, accountEnabled: true });
  return { id: user.id, name: nickname };
}
async function newGroup(name: string): Promise<Ref> {
  const group = await h.graph('POST', 'groups', { displayName: name, mailNickname: name, mailEnabled: false, securityEnabled: true });
  return { id: group.id, name };
}
const nest = (parent: Ref, member: Ref) =>
  h.graph('POST', `groups/${parent.id}/members/$ref`, { '@odata.id': `${h.stack.directoryUrl}/directoryObjects/${member.id}` });

let top: Ref, middle: Ref, bottom: Ref;
beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 0, seedGroups: 0 });
  [top, middle, bottom] = [await newGroup('top'), await newGroup('middle'), await newGroup('bottom')];
  const [a, b, c] = [await newUser('a'), await newUser('b'), await newUser('c')];
  await nest(top, a);
  await nest(top, middle);
  await nest(middle, b);
  await nest(middle, bottom);
  await nest(bottom, c);
  jobId = await h.startedJob();
});
afterAll(async () => h?.close());

describe('nested groups', () => {
  it('by default, as Entra: direct user members only', () => {
    expect(membersOf(top)).toEqual(accounts('a'));
    expect(membersOf(middle)).toEqual(accounts('b'));
    expect(membersOf(bottom)).toEqual(accounts('c'));
  });

  it('flattened on the job setting: three levels reach the top, and a cycle is harmless', async () => {
    await h.expectOk('PATCH', `/jobs/${jobId}`, { synchronizationJobSettings: [{ name: 'FlattenNestedGroups', value: 'True' }] });
    await nest(bottom, top); // a cycle: top ⊃ middle ⊃ bottom ⊃ top
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(membersOf(top)).toEqual(accounts('a', 'b', 'c'));
    expect(membersOf(middle)).toEqual(accounts('a', 'b', 'c'));
    expect(membersOf(bottom)).toEqual(accounts('a', 'b', 'c'));
  });

  it('a change deep in the tree reaches every group above it on the next run', async () => {
    await h.graph('DELETE', `groups/${bottom.id}/members/${top.id}/$ref`);
    const d = await newUser('d');
    await nest(bottom, d);
    await h.runJob(jobId, 'schedule');
    expect(membersOf(bottom)).toEqual(accounts('c', 'd'));
    expect(membersOf(middle)).toEqual(accounts('b', 'c', 'd'));
    expect(membersOf(top)).toEqual(accounts('a', 'b', 'c', 'd'));

    await h.graph('DELETE', `groups/${middle.id}/members/${bottom.id}/$ref`);
    await h.runJob(jobId, 'schedule');
    expect(membersOf(middle)).toEqual(accounts('b'));
    expect(membersOf(top)).toEqual(accounts('a', 'b'));
    expect(membersOf(bottom)).toEqual(accounts('c', 'd'));
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
  });
});
