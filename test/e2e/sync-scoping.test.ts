import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 12, seedGroups: 1 });
});
afterAll(async () => h?.close());

type Resource = Record<string, any>;
const account = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName);

function scoped(schema: any, clause: { sourceOperandName: string; operatorName: string; values: string[] }) {
  const copy = structuredClone(schema);
  const users = copy.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User');
  users.scope = {
    groups: [{ name: 'Only this department', clauses: [{ sourceOperandName: clause.sourceOperandName, operatorName: clause.operatorName, targetOperand: { values: clause.values } }] }],
    inputFilterGroups: [],
    categoryFilterGroups: [],
  };
  return copy;
}

describe('scoping filters', () => {
  it('provisions only users in scope, disables those that leave it, and can leave them be with SkipOutOfScopeDeletions', async () => {
    const jobId = await h.startedJob();

    const sourceUsers = (await h.listAll('users', 'id,userPrincipalName,department,accountEnabled')).filter((user) => user.accountEnabled !== false);
    const department = sourceUsers.find((user) => user.department)!.department as string;
    const inside = sourceUsers.filter((user) => user.department === department);
    const outside = sourceUsers.filter((user) => user.department !== department);
    expect(outside.length).toBeGreaterThan(0);

    const schema = await h.expectOk('GET', `/jobs/${jobId}/schema`);
    expect((await h.api('PUT', `/jobs/${jobId}/schema`, scoped(schema, { sourceOperandName: 'department', operatorName: 'EQUALS', values: [department] }))).status).toBe(204);
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    for (const user of inside) expect(account(user.userPrincipalName)?.active).toBe(true);
    for (const user of outside) expect(account(user.userPrincipalName)?.active).toBe(false);

    // A user moved into scope is enabled again.
    const mover = outside[0]!;
    await h.graph('PATCH', `users/${mover.id}`, { department });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(account(mover.userPrincipalName)?.active).toBe(true);

    // With SkipOutOfScopeDeletions, one leaving scope keeps its account as it is.
    await h.expectOk('PUT', '/secrets', {
      value: [
        { key: 'BaseAddress', value: h.scim.url },
        { key: 'SecretToken', value: h.scimToken },
        { key: 'SkipOutOfScopeDeletions', value: 'True' },
        { key: 'SyncAll', value: 'true' },
      ],
    });
    await h.graph('PATCH', `users/${mover.id}`, { department: `${department} (moved)` });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(account(mover.userPrincipalName)?.active).toBe(true);
  });

  it('lists the operators it evaluates, and refuses a filter it cannot', async () => {
    const jobId = await h.createJob();
    const operators = await h.expectOk('GET', `/jobs/${jobId}/schema/filterOperators`);
    expect(operators.value.map((operator: { name: string }) => operator.name)).toEqual(expect.arrayContaining(['EQUALS', 'NOT_EQUALS', 'REGEX_MATCH', 'IS_NULL']));
    const schema = await h.expectOk('GET', `/jobs/${jobId}/schema`);
    const refused = await h.api('PUT', `/jobs/${jobId}/schema`, scoped(schema, { sourceOperandName: 'department', operatorName: 'REGEX_MATCH', values: ['(unclosed'] }));
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/regular expression/);
  });
});
