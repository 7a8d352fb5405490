import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'on-demand-app';
let t: TestStack;
let jobId: string;
let users: { id: string; userPrincipalName: string }[];
let group: { id: string; displayName: string };

beforeAll(async () => {
  t = await startTestStack();
  jobId = (await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } })).json.id;
  const saved = await t.api('PUT', syncPath(SP, '/secrets'), {
    body: { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: t.stack.scimToken }, { key: 'SyncAll', value: 'true' }] },
  });
  expect(saved.status).toBe(204);
  const all = ((await (await fetch(`${t.stack.directoryUrl}/users`)).json()) as { value: (typeof users[number] & { accountEnabled?: boolean })[] }).value;
  users = all.filter((user) => user.accountEnabled !== false);
  group = ((await (await fetch(`${t.stack.directoryUrl}/groups`)).json()) as { value: (typeof group)[] }).value[0]!;
});
afterAll(async () => t?.close());

const provision = (subjects: unknown[], ruleId = 'AAD2SCIM') =>
  t.api('POST', syncPath(SP, `/jobs/${jobId}/provisionOnDemand`), { body: { parameters: [{ ruleId, subjects }] } });

function parsed(response: { json: any }) {
  return { key: JSON.parse(response.json.key), value: JSON.parse(response.json.value) };
}

describe('POST /jobs/{id}/provisionOnDemand', () => {
  it('provisions one user now and reports the steps as Graph does', async () => {
    const user = users[0]!;
    const response = await provision([{ objectId: user.id, objectTypeName: 'User' }]);
    expect(response.status).toBe(200);
    expect(response.json['@odata.type']).toBe('#microsoft.graph.stringKeyStringValuePair');
    const { key, value } = parsed(response);
    expect(key.result).toBe('Success');
    expect(value.provisioningSteps.map((step: any) => `${step.name}:${step.status}`)).toEqual(['EntryImport:success', 'EntryExportAdd:success']);
    expect(t.stack.scim.resources('Users').map((account: any) => account.userName)).toEqual([user.userPrincipalName]);
    // The provisioning logs have it too, started by provisionOnDemand.
    const logs = await t.api('GET', `/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${jobId}' and sourceIdentity/id eq '${user.id}'`)}`);
    expect(logs.json.value).toMatchObject([{ provisioningAction: 'create', initiatedBy: { displayName: 'provisionOnDemand', initiatorType: 'user' } }]);

    // Again: nothing to change, so nothing is sent.
    const again = parsed(await provision([{ objectId: user.id, objectTypeName: 'User' }]));
    expect(again.key.result).toBe('Skipped');
    expect(t.stack.scim.resources('Users')).toHaveLength(1);
  });

  it('provisions a group with the members it lists', async () => {
    const members = users.slice(0, 2);
    const response = await provision([
      { objectId: group.id, objectTypeName: 'Group', links: { members: members.map((member) => ({ objectId: member.id, objectTypeName: 'User' })) } },
    ]);
    expect(response.status).toBe(200);
    expect(parsed(response).key.result).toBe('Success');
    const target = (t.stack.scim.resources('Groups') as any[]).find((candidate) => candidate.displayName === group.displayName);
    const idToUserName = new Map((t.stack.scim.resources('Users') as any[]).map((account) => [account.id, account.userName]));
    expect((target.members as { value: string }[]).map((member) => idToUserName.get(member.value)).sort()).toEqual(
      members.map((member) => member.userPrincipalName).sort(),
    );
  });

  it('reports an object the directory does not have as a failed step', async () => {
    const { key, value } = parsed(await provision([{ objectId: '00000000-0000-4000-8000-00000000dead', objectTypeName: 'User' }]));
    expect(key.result).toBe('Failure');
    expect(value.provisioningSteps[0]).toMatchObject({ name: 'EntryImport', status: 'failure' });
  });

  it('answers 400 naming the service principal when the directory does not have it (assigned-only scope), and changes nothing', async () => {
    // Found by the API fuzz suite: the worker's SourceUnavailableError came back as a 500.
    const sp = 'not-in-directory-app';
    const job = (await t.api('POST', syncPath(sp, '/jobs'), { body: { templateId: 'scim' } })).json.id;
    const secrets = { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: t.stack.scimToken }] };
    expect((await t.api('PUT', syncPath(sp, '/secrets'), { body: secrets })).status).toBe(204);
    const before = t.stack.scim.resources('Users').length;
    const response = await t.api('POST', syncPath(sp, `/jobs/${job}/provisionOnDemand`), {
      body: { parameters: [{ ruleId: 'AAD2SCIM', subjects: [{ objectId: users[1]!.id, objectTypeName: 'User' }] }] },
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalidRequest');
    expect(response.json.error.message).toMatch(new RegExp(`cannot provision yet: .*${sp}`));
    expect(t.stack.scim.resources('Users')).toHaveLength(before);
    const logs = await t.api('GET', `/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${job}'`)}`);
    expect(logs.json.value).toEqual([]);
  });

  it.each([
    ['an unknown ruleId', () => provision([{ objectId: 'x', objectTypeName: 'User' }], 'nope'), 400],
    ['more than five subjects', () => provision(Array.from({ length: 6 }, (_, i) => ({ objectId: `u${i}`, objectTypeName: 'User' }))), 400],
    ['a group with six members', () => provision([{ objectId: 'g', objectTypeName: 'Group', links: { members: Array.from({ length: 6 }, (_, i) => ({ objectId: `m${i}`, objectTypeName: 'User' })) } }]), 400],
    ['an unknown object type', () => provision([{ objectId: 'x', objectTypeName: 'Printer' }]), 400],
  ])('refuses %s', async (_name, call, status) => {
    const response = await call();
    expect(response.status).toBe(status);
    expect(response.json.error.code).toBe('invalidRequest');
  });
});
