import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphHandler, type ApiEvent } from '../../functions/http/graph-handler.ts';
import { startTestIdentityProvider, type TestIdentityProvider } from '../support/access-tokens.ts';

const TENANT = '00000000-0000-4000-8000-000000000001';

/** A route that answers the origin its links would be built from. */
const echoOrigin = graphHandler({ access: 'read' }, async ({ origin }) => ({ statusCode: 200, body: { origin } }));

let idp: TestIdentityProvider;
beforeAll(async () => {
  idp = await startTestIdentityProvider();
});
afterAll(async () => {
  await idp?.close();
});

async function originFor(headers: Record<string, string>, domainName?: string): Promise<string> {
  const event = {
    headers: { ...headers, authorization: await idp.bearer(TENANT, ['Synchronization.Read.All']) },
    requestContext: { requestId: 'r1', ...(domainName === undefined ? {} : { domainName }) },
    pathParameters: { servicePrincipalId: 'sp' },
  } as unknown as ApiEvent;
  const response = await echoOrigin(event, {} as never);
  return JSON.parse(response.body ?? '{}').origin;
}

describe('the origin links are built from', () => {
  it.each([
    ['deployed: https and the domain API Gateway was called by', { 'x-forwarded-proto': 'https' }, 'abc.execute-api.eu-west-1.amazonaws.com', 'https://abc.execute-api.eu-west-1.amazonaws.com'],
    ['deployed without the header: still https', {}, 'api.example.com', 'https://api.example.com'],
    ['the local http listener', { 'x-forwarded-proto': 'http', host: '127.0.0.1:3000' }, '127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['the local https listener', { 'x-forwarded-proto': 'https', host: 'localhost:3443' }, 'localhost:3443', 'https://localhost:3443'],
    ['a header that is no scheme: https', { 'x-forwarded-proto': 'javascript' }, 'api.example.com', 'https://api.example.com'],
  ])('%s', async (_name, headers, domainName, expected) => {
    expect(await originFor(headers, domainName)).toBe(expected);
  });
});
