import { describe, expect, it } from 'vitest';
import { clientCredentialsTokenProvider } from '../../functions/adapters/graph/client-credentials.ts';
import { GraphDirectorySource } from '../../functions/adapters/graph/graph-directory-source.ts';
import { confidentialValues, secretRedactor } from '../../functions/domain/secret-redaction.ts';
import { SourceUnavailableError } from '../../functions/ports/directory-source.ts';

const secret = 'q8R~z/Abc+def"ghi\\jk';

describe('secretRedactor', () => {
  it.each([
    ['as given', secret],
    ['JSON-escaped', JSON.stringify(secret).slice(1, -1)],
    ['JSON-escaped with \\/', JSON.stringify(secret).slice(1, -1).replaceAll('/', '\\/')],
    ['percent-encoded', encodeURIComponent(secret)],
    ['form-encoded', new URLSearchParams({ v: secret }).toString().slice(2)],
  ])('takes the secret out %s', (_form, echoed) => {
    const redact = secretRedactor([secret]);
    expect(redact(`detail: ${echoed}; again ${echoed}`)).toBe('detail: [redacted]; again [redacted]');
  });

  it('takes a longer secret out whole when it contains a shorter one', () => {
    expect(secretRedactor(['abcdef', 'abcdefghij'])('x abcdefghij y abcdef')).toBe('x [redacted] y [redacted]');
  });

  it('leaves text alone for values too short to find safely, and for none', () => {
    expect(secretRedactor(['true', '', null, undefined])('true story')).toBe('true story');
  });

  it('knows which secret keys hold credentials', () => {
    const pairs = [
      { key: 'BaseAddress', value: 'https://scim.example.com' },
      { key: 'SecretToken', value: 'token-1' },
      { key: 'SourceClientSecret', value: 'client-secret-1' },
      { key: 'SyncAll', value: 'true' },
    ];
    expect(confidentialValues(pairs)).toEqual(['token-1', 'client-secret-1']);
  });
});

describe('what a directory echoes', () => {
  it("keeps neither the job's client secret nor the access token in a refusal's message", async () => {
    const accessToken = 'eyJ0eXAiOiJKV1QiLCJhbGciOi.access';
    const source = new GraphDirectorySource({
      baseUrl: 'https://graph.example.com/v1.0',
      getAccessToken: async () => accessToken,
      userAttributes: ['displayName'],
      groupAttributes: ['displayName'],
      confidential: [secret],
      fetch: async () =>
        new Response(JSON.stringify({ error: { code: 'BadRequest', message: `token ${accessToken} and secret ${secret} refused` } }), {
          status: 400,
          headers: { 'content-type': 'application/json' },
        }),
    });
    const read = source.readPage(null);
    await expect(read).rejects.toBeInstanceOf(SourceUnavailableError);
    const message = await read.catch((error: Error) => error.message);
    expect(message).toContain('[redacted]');
    expect(message).not.toContain(accessToken);
    expect(message).not.toContain(secret);
  });

  it('keeps the client secret out of a failed token request', async () => {
    const provider = clientCredentialsTokenProvider({
      loginBaseUrl: 'https://login.example.com',
      tenantId: 't1',
      clientId: 'c1',
      clientSecret: secret,
      fetch: async () =>
        new Response(JSON.stringify({ error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret ${JSON.stringify(secret).slice(1, -1)}` }), {
          status: 401,
        }),
    });
    const message = await provider().catch((error: Error) => error.message);
    expect(message).toMatch(/invalid_client/);
    expect(message).toContain('[redacted]');
    expect(message).not.toContain(JSON.stringify(secret).slice(1, -1));
    expect(message).not.toContain(secret);
  });
});
