import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mappedSourceUsers, startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 12, seedGroups: 3 });
});
afterAll(async () => h?.close());

type Resource = Record<string, any>;
const scimUsers = () => h.scim.resources('Users') as Resource[];
const scimGroups = () => h.scim.resources('Groups') as Resource[];

/**
 * The target equals the mapped source: one account per present source user (those never provisioned while
 * disabled excepted), each with the mapped values, no account for a hard-deleted user, soft-deleted accounts
 * inactive, and each group with the members of its source group.
 */
async function expectConverged(expect_: { softDeleted?: string[]; absent?: string[]; neverProvisioned?: string[] } = {}) {
  const mapped = await mappedSourceUsers(h);
  const users = scimUsers();
  const byUserName = new Map(users.map((user) => [user.userName as string, user]));
  expect(byUserName.size).toBe(users.length);
  for (const [id, resource] of mapped) {
    const account = byUserName.get(resource.userName as string);
    if (expect_.neverProvisioned?.includes(id)) {
      expect(account).toBeUndefined();
      continue;
    }
    expect(account, `account of ${String(resource.userName)}`).toBeDefined();
    expect(account).toMatchObject(resource);
  }
  const expectedCount = mapped.size - (expect_.neverProvisioned?.length ?? 0) + (expect_.softDeleted?.length ?? 0);
  expect(users).toHaveLength(expectedCount);
  for (const userName of expect_.absent ?? []) expect(byUserName.has(userName)).toBe(false);
  for (const userName of expect_.softDeleted ?? []) expect(byUserName.get(userName)?.active).toBe(false);

  const idOfUserName = new Map(users.map((user) => [user.userName as string, user.id as string]));
  const sourceGroups = await h.listAll('groups', 'id,displayName');
  const groups = scimGroups();
  expect(groups).toHaveLength(sourceGroups.length);
  for (const group of sourceGroups) {
    const target = groups.find((candidate) => candidate.displayName === group.displayName);
    expect(target, `group ${group.displayName}`).toBeDefined();
    const members = (await h.graph('GET', `groups/${group.id}/members?$select=userPrincipalName`)).value as Resource[];
    const expected = members.map((member) => idOfUserName.get(member.userPrincipalName)).sort();
    const actual = ((target!.members ?? []) as Resource[]).map((member) => member.value as string).sort();
    expect(actual).toEqual(expected);
  }
}

describe('a job syncs the directory into the SCIM target end to end', () => {
  it('provisions every user and group with memberships on its first run', async () => {
    jobId = await h.createJob();
    await h.putSecrets(h.scim.url, h.scimToken);
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);

    await expectConverged();
    expect(scimUsers()).toHaveLength(12);
    expect(scimGroups()).toHaveLength(3);
    const job = await h.getJob(jobId);
    expect(job.status.code).toBe('Active');
    expect(job.status.lastExecution.state).toBe('Succeeded');
    expect(job.status.lastExecution.countExported).toBeGreaterThanOrEqual(15);
    expect(job.status.synchronizedEntryCountByType).toEqual(
      expect.arrayContaining([{ key: 'User', value: 12 }, { key: 'Group', value: 3 }]),
    );
  });

  it('converges after adds, changes, disables, soft and hard deletes and membership changes', async () => {
    const users = await h.listAll('users', 'id,userPrincipalName');
    const groups = await h.listAll('groups', 'id,displayName');
    const [changed, disabled, softDeleted, hardDeleted, moved] = users as Resource[];
    const added = await h.graph('POST', 'users', {
      userPrincipalName: 'new.hire@contoso.example',
      displayName: 'New Hire',
      mailNickname: 'newhire',
      accountEnabled: true,
      jobTitle: 'Engineer',
    });
    const addedDisabled = await h.graph('POST', 'users', {
      userPrincipalName: 'not.yet@contoso.example',
      displayName: 'Not Yet',
      mailNickname: 'notyet',
      accountEnabled: false,
    });
    await h.graph('PATCH', `users/${changed!.id}`, { jobTitle: 'Principal Engineer', displayName: 'Changed Name' });
    await h.graph('PATCH', `users/${disabled!.id}`, { accountEnabled: false });
    await h.graph('DELETE', `users/${softDeleted!.id}`);
    await h.graph('DELETE', `users/${hardDeleted!.id}`);
    await h.graph('DELETE', `directory/deletedItems/${hardDeleted!.id}`);
    const [first, second] = groups as Resource[];
    await h.graph('POST', `groups/${first!.id}/members/$ref`, { '@odata.id': `${h.stack.directoryUrl}/directoryObjects/${added.id}` });
    const secondMembers = (await h.graph('GET', `groups/${second!.id}/members?$select=id`)).value as Resource[];
    const leaving = secondMembers.find((member) => member.id !== hardDeleted!.id && member.id !== softDeleted!.id)!;
    await h.graph('DELETE', `groups/${second!.id}/members/${leaving.id}/$ref`);
    await h.graph('POST', `groups/${second!.id}/members/$ref`, { '@odata.id': `${h.stack.directoryUrl}/directoryObjects/${moved!.id}` });

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');

    await expectConverged({
      softDeleted: [softDeleted!.userPrincipalName],
      absent: [hardDeleted!.userPrincipalName],
      neverProvisioned: [addedDisabled.id],
    });
    const byUserName = new Map(scimUsers().map((user) => [user.userName, user]));
    expect(byUserName.get(changed!.userPrincipalName)).toMatchObject({ title: 'Principal Engineer', displayName: 'Changed Name' });
    expect(byUserName.get(disabled!.userPrincipalName)?.active).toBe(false);
    expect(byUserName.get('new.hire@contoso.example')?.active).toBe(true);
    const job = await h.getJob(jobId);
    expect(job.status.lastExecution.countImportedDeltas).toBeGreaterThan(0);
  });

  it('holds changes while paused and applies them after start', async () => {
    await h.expectOk('POST', `/jobs/${jobId}/pause`);
    expect((await h.getJob(jobId)).schedule.state).toBe('Paused');
    const [user] = (await h.listAll('users', 'id,userPrincipalName,accountEnabled')).filter((u: Resource) => u.accountEnabled);
    await h.graph('PATCH', `users/${user.id}`, { displayName: 'Renamed While Paused' });

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('inactive');
    expect(scimUsers().find((account) => account.userName === user.userPrincipalName)?.displayName).not.toBe('Renamed While Paused');

    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    expect(scimUsers().find((account) => account.userName === user.userPrincipalName)?.displayName).toBe('Renamed While Paused');
  });

  it('a Watermark restart reads everything again without creating a second account', async () => {
    const before = { users: scimUsers().map((user) => user.id).sort(), groups: scimGroups().map((group) => group.id).sort() };
    h.scim.clearRequests();
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);

    expect(scimUsers().map((user) => user.id).sort()).toEqual(before.users);
    expect(scimGroups().map((group) => group.id).sort()).toEqual(before.groups);
    expect(h.scim.requests().filter((request) => request.method === 'POST')).toEqual([]);
    const job = await h.getJob(jobId);
    expect(job.status.lastExecution.countImported).toBeGreaterThanOrEqual(before.users.length);
  });
});

describe('deleting a synchronized job', () => {
  it('removes the job with all its state (links of every generation, escrows) and leaves the target accounts', async () => {
    const jobId = await h.startedJob();
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Full' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    const accounts = h.scim.resources('Users').length;
    const { DynamoDBClient, QueryCommand } = await import('@aws-sdk/client-dynamodb');
    const dynamo = new DynamoDBClient({ endpoint: h.stack.dynamoDbEndpoint });
    const stateItems = async () =>
      (
        await dynamo.send(
          new QueryCommand({
            TableName: h.stack.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': { S: `T#${h.tenantId}#JOB#${jobId}` } },
          }),
        )
      ).Count;
    expect(await stateItems()).toBeGreaterThan(accounts); // two generations of links

    await h.expectOk('DELETE', `/jobs/${jobId}`);
    expect(await h.purgeDeleted(jobId)).toEqual(['purged']);

    expect(await stateItems()).toBe(0);
    expect((await h.api('GET', `/jobs/${jobId}`)).status).toBe(404);
    expect(h.scim.resources('Users')).toHaveLength(accounts);
    dynamo.destroy();
  });
});
