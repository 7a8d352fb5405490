import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'validate-app';
let t: TestStack;
let jobId: string;

beforeAll(async () => {
  t = await startTestStack();
  jobId = (await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } })).json.id;
});
afterAll(async () => t?.close());

const validate = (body: unknown, options: { job?: string; token?: string } = {}) =>
  t.api('POST', syncPath(SP, `/jobs/${options.job ?? jobId}/validateCredentials`), { body, ...(options.token ? { token: options.token } : {}) });
const pairs = (baseAddress: string, token: string) => [
  { key: 'BaseAddress', value: baseAddress },
  { key: 'SecretToken', value: token },
];

describe('POST /jobs/{id}/validateCredentials', () => {
  it('accepts working credentials given in the body, and changes nothing in the target', async () => {
    const response = await validate({ useSavedCredentials: false, credentials: pairs(t.stack.scimUrl, t.stack.scimToken) });
    expect(response.status).toBe(204);
    expect(t.stack.scim.resources('Users')).toEqual([]);
  });

  it('checks the saved credentials when asked to', async () => {
    expect((await validate({ useSavedCredentials: true })).status).toBe(400);
    const saved = await t.api('PUT', syncPath(SP, '/secrets'), { body: { value: pairs(t.stack.scimUrl, t.stack.scimToken) } });
    expect(saved.status).toBe(204);
    expect((await validate({ useSavedCredentials: true })).status).toBe(204);
  });

  it.each([
    ['a token the target refuses', () => pairs(t.stack.scimUrl, 'wrong-token'), /401/],
    ['a target nobody listens on', () => pairs('http://127.0.0.1:1/scim/v2', 'x'), /cannot be reached/],
    ['a target that is not SCIM', () => pairs(t.stack.directoryUrl, 'x'), /answered/],
    ['http to a host that is not loopback', () => pairs('http://scim.example.com/scim/v2', 'x'), /https/],
    ['a missing SecretToken', () => [{ key: 'BaseAddress', value: t.stack.scimUrl }], /SecretToken/],
  ])('refuses %s with a clear Graph error', async (_name, credentials, message) => {
    const response = await validate({ credentials: credentials() });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('CredentialValidationFailed');
    expect(response.json.error.message).toMatch(message);
  });

  it('fails the check, not the request, when the target asks to slow down', async () => {
    t.stack.scim.failNext({ status: 429, retryAfter: '3600' });
    const response = await validate({ credentials: pairs(t.stack.scimUrl, t.stack.scimToken) });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('CredentialValidationFailed');
    expect(response.json.error.message).toMatch(/429/);
  });

  it('needs credentials or useSavedCredentials, a known job, and write permission', async () => {
    expect((await validate({})).json.error.code).toBe('invalidRequest');
    const unknown = await validate({ useSavedCredentials: true }, { job: `scim.${'0'.repeat(32)}.${LOCAL_TENANT_ID}` });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('Request_ResourceNotFound');
    expect((await validate({ useSavedCredentials: true }, { token: await t.issueToken({ readOnly: true }) })).status).toBe(403);
  });
});
