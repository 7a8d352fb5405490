import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'shared-app';
const TENANT_B = '00000000-0000-4000-8000-00000000000b';

let t: TestStack;
let jobA: string;

beforeAll(async () => {
  t = await startTestStack();
  const created = await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } });
  expect(created.status).toBe(201);
  jobA = created.json.id;
});

afterAll(async () => {
  await t?.close();
});

const writes = (jobId: string): [string, string, unknown][] => [
  ['POST', syncPath(SP, '/jobs'), { templateId: 'scim' }],
  ['PATCH', syncPath(SP, `/jobs/${jobId}`), { schedule: { interval: 'PT9M' } }],
  ['DELETE', syncPath(SP, `/jobs/${jobId}`), undefined],
  ['POST', syncPath(SP, `/jobs/${jobId}/start`), {}],
  ['POST', syncPath(SP, `/jobs/${jobId}/pause`), {}],
  ['POST', syncPath(SP, `/jobs/${jobId}/restart`), { criteria: { resetScope: 'Full' } }],
  ['PUT', syncPath(SP, '/secrets'), { value: [{ key: 'SecretToken', value: 'x' }] }],
];

describe('authentication', () => {
  it.each([
    ['no token', async () => null],
    ['a garbage token', async () => 'not-a-jwt'],
    ['an expired token', () => t.issueToken({ lifetime: -60 })],
    ['a token for another audience', () => t.signToken({ tid: LOCAL_TENANT_ID, roles: ['Synchronization.ReadWrite.All'] }, { audience: 'api://other' })],
    ['a token without a tenant', () => t.signToken({ roles: ['Synchronization.ReadWrite.All'] })],
    ['a token with a malformed tenant', () => t.signToken({ tid: "x' or 1=1", roles: ['Synchronization.ReadWrite.All'] })],
  ])('answers 401 InvalidAuthenticationToken to %s', async (_name, token) => {
    const bearer = await token();
    for (const [method, apiPath, body] of [['GET', syncPath(SP, '/jobs'), undefined] as const, ...writes(jobA)]) {
      const response = await t.api(method, apiPath, { token: bearer, body, headers: { 'client-request-id': 'auth-check-1' } });
      expect(response.status, `${method} ${apiPath}`).toBe(401);
      expect(response.json.error.code).toBe('InvalidAuthenticationToken');
      expect(response.json.error.innerError['client-request-id']).toBe('auth-check-1');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const job = await t.api('GET', syncPath(SP, `/jobs/${jobA}`));
    expect(job.status).toBe(200);
  });

  it('answers 403 to a token with neither permission', async () => {
    const token = await t.signToken({ tid: LOCAL_TENANT_ID, roles: ['User.Read.All'] });
    const response = await t.api('GET', syncPath(SP, '/jobs'), { token });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('Authorization_RequestDenied');
  });

  it('accepts the permission as a delegated scope too', async () => {
    const token = await t.signToken({ tid: LOCAL_TENANT_ID, scp: 'Synchronization.Read.All' });
    const response = await t.api('GET', syncPath(SP, '/jobs'), { token });
    expect(response.status).toBe(200);
  });
});

describe('read-only callers', () => {
  it('can read every resource', async () => {
    const token = await t.issueToken({ readOnly: true });
    for (const apiPath of [
      syncPath(SP, '/jobs'),
      syncPath(SP, `/jobs/${jobA}`),
      syncPath(SP, `/jobs/${jobA}?$expand=schema`),
      syncPath(SP, `/jobs/${jobA}/schema`),
      syncPath(SP, '/templates'),
      syncPath(SP, '/templates/scim'),
    ]) {
      expect((await t.api('GET', apiPath, { token })).status, apiPath).toBe(200);
    }
  });

  it.each(writes('{job}'))('gets 403 on %s %s and changes nothing', async (method, apiPath, body) => {
    const token = await t.issueToken({ readOnly: true });
    const before = await t.api('GET', syncPath(SP, '/jobs'));
    const response = await t.api(method, apiPath.replace('{job}', jobA), { token, body });
    expect(response.status).toBe(403);
    expect(response.json.error.code).toBe('Authorization_RequestDenied');
    expect(response.json.error.message).toContain('Synchronization.ReadWrite.All');
    expect((await t.api('GET', syncPath(SP, '/jobs'))).json).toEqual(before.json);
  });
});

describe('tenant isolation', () => {
  it("tenant B sees an empty list and none of tenant A's jobs", async () => {
    const token = await t.issueToken({ tenantId: TENANT_B });
    const list = await t.api('GET', syncPath(SP, '/jobs'), { token });
    expect(list.status).toBe(200);
    expect(list.json.value).toEqual([]);
    for (const apiPath of [syncPath(SP, `/jobs/${jobA}`), syncPath(SP, `/jobs/${jobA}/schema`)]) {
      const response = await t.api('GET', apiPath, { token });
      expect(response.status, apiPath).toBe(404);
      expect(response.json.error.code).toBe('Request_ResourceNotFound');
    }
  });

  it.each(writes('{job}').slice(1, 6))("tenant B's %s %s on tenant A's job is 404 and changes nothing", async (method, apiPath, body) => {
    const token = await t.issueToken({ tenantId: TENANT_B });
    const secretsB = await t.api('PUT', syncPath(SP, '/secrets'), {
      token,
      body: { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: 'b-token' }] },
    });
    expect(secretsB.status).toBe(204);
    const before = await t.api('GET', syncPath(SP, `/jobs/${jobA}`));
    const response = await t.api(method, apiPath.replace('{job}', jobA), { token, body });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('Request_ResourceNotFound');
    const after = await t.api('GET', syncPath(SP, `/jobs/${jobA}`));
    expect(after.json).toEqual(before.json);
  });

  it("tenant B's secrets and jobs stay in tenant B", async () => {
    const token = await t.issueToken({ tenantId: TENANT_B });
    const created = await t.api('POST', syncPath(SP, '/jobs'), { token, body: { templateId: 'scim' } });
    expect(created.status).toBe(201);
    expect(created.json.id.endsWith(`.${TENANT_B}`)).toBe(true);
    const listA = await t.api('GET', syncPath(SP, '/jobs'));
    expect(listA.json.value.map((job: { id: string }) => job.id)).not.toContain(created.json.id);
    // Tenant B stored target secrets for this service principal; tenant A still has none.
    const startA = await t.api('POST', syncPath(SP, `/jobs/${jobA}/start`));
    expect(startA.status).toBe(400);
    expect(startA.json.error.message).toContain('BaseAddress');
  });
});

describe('request ids', () => {
  it('echoes client-request-id and sends a request-id on success', async () => {
    const response = await t.api('GET', syncPath(SP, '/jobs'), { headers: { 'client-request-id': 'abc-123' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('client-request-id')).toBe('abc-123');
    expect(response.headers.get('request-id')).toMatch(/^[\w-]{8,}$/);
  });

  it('answers its own client-request-id when the given one is unusable', async () => {
    const response = await t.api('GET', syncPath(SP, '/jobs'), { headers: { 'client-request-id': 'a b<script>' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('client-request-id')).toMatch(/^[\w-]+$/);
  });
});
