import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 6, seedGroups: 1 });
  jobId = await h.startedJob();
});
afterAll(async () => h?.close());

type Resource = Record<string, any>;

function withTitleMapping(schema: any, expression: string) {
  const copy = structuredClone(schema);
  const users = copy.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User');
  const title = users.attributeMappings.find((mapping: any) => mapping.targetAttributeName === 'title');
  // A client may send just the expression text; the service parses it.
  title.source = { type: 'Function', name: expression.split('(')[0], expression, parameters: [] };
  return copy;
}

describe('customising the job schema', () => {
  it('PUT replaces the mapping, bumps the version, and the next run re-evaluates every object without duplicates', async () => {
    const before = await h.expectOk('GET', `/jobs/${jobId}/schema`);
    expect(before.version).toBe('1');
    const accounts = h.scim.resources('Users').length;

    expect((await h.api('PUT', `/jobs/${jobId}/schema`, withTitleMapping(before, 'ToUpper([jobTitle])'))).status).toBe(204);
    const after = await h.expectOk('GET', `/jobs/${jobId}/schema`);
    expect(after.version).toBe('2');
    const expanded = await h.expectOk('GET', `/jobs/${jobId}?$expand=schema`);
    expect(expanded.schema.version).toBe('2');

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const users = h.scim.resources('Users') as Resource[];
    expect(users).toHaveLength(accounts);
    const sourceUsers = await h.listAll('users', 'userPrincipalName,jobTitle,accountEnabled');
    for (const source of sourceUsers.filter((user) => user.jobTitle && user.accountEnabled !== false)) {
      expect(users.find((user) => user.userName === source.userPrincipalName)?.title).toBe(source.jobTitle.toUpperCase());
    }
  });

  it('refuses a schema it cannot run, with a Graph error naming the problem, and keeps the one in force', async () => {
    const current = await h.expectOk('GET', `/jobs/${jobId}/schema`);
    const cases: [unknown, RegExp][] = [
      [withTitleMapping(current, 'Frobnicate([jobTitle])'), /unknown function .Frobnicate./i],
      [withTitleMapping(current, 'ToUpper([jobTitle]'), /title/],
      [{ ...current, synchronizationRules: [{ ...current.synchronizationRules[0], sourceDirectoryName: 'Nowhere' }] }, /no directory named 'Nowhere'/],
      [{ id: 'x' }, /version/],
    ];
    for (const [body, message] of cases) {
      const response = await h.api('PUT', `/jobs/${jobId}/schema`, body);
      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalidRequest');
      expect(response.body.error.message).toMatch(message);
    }
    expect(await h.expectOk('GET', `/jobs/${jobId}/schema`)).toEqual(current);
  });

  it('DELETE goes back to the template schema and its mappings', async () => {
    expect((await h.api('DELETE', `/jobs/${jobId}/schema`)).status).toBe(204);
    expect((await h.expectOk('GET', `/jobs/${jobId}/schema`)).version).toBe('1');
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const sourceUsers = await h.listAll('users', 'userPrincipalName,jobTitle,accountEnabled');
    const users = h.scim.resources('Users') as Resource[];
    for (const source of sourceUsers.filter((user) => user.jobTitle && user.accountEnabled !== false)) {
      expect(users.find((user) => user.userName === source.userPrincipalName)?.title).toBe(source.jobTitle);
    }
  });
});
