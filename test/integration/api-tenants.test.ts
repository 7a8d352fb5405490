import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiRoutes, fallbackHandler } from '../../functions/api/routes.ts';
import type { ApiEvent, ApiResult } from '../../functions/http/graph-handler.ts';
import { LOCAL_AUDIENCE, LOCAL_CLIENT_ID, LOCAL_TENANT_ID, type SignOptions } from '../../local/local-auth.ts';
import { startTestIdentityProvider, type TestIdentityProvider } from '../support/access-tokens.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

/** Admitted tenants: A (the local directory's), B, and C, whose keys no request fetches before the outage. */
const TENANT_A = LOCAL_TENANT_ID;
const TENANT_B = '00000000-0000-4000-8000-00000000000b';
const TENANT_C = '00000000-0000-4000-8000-00000000000c';
/** Not admitted. */
const TENANT_X = '00000000-0000-4000-8000-0000000000ff';
const ADMITTED = [TENANT_A, TENANT_B, TENANT_C].join(',');
const SP = 'tenants-app';
const RW = ['Synchronization.ReadWrite.All'];

interface Answer {
  status: number;
  headers: Record<string, string>;
  json: any;
}

/** One way in: a Lambda handler invoked as API Gateway invokes it, or HTTP to the local gateway. */
interface Way {
  call: (method: string, path: string, authorization: string | null) => Promise<Answer>;
  sign: (claims: JWTPayload, options?: SignOptions) => Promise<string>;
  loginBaseUrl: () => string;
  rotateKey: () => Promise<void>;
  keyRequests: () => number;
  stopKeyServer: () => Promise<void>;
}

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** The event API Gateway (HTTP API, payload v2, no authorizer) hands the route's function. */
async function invokeAsApiGateway(method: string, path: string, authorization: string | null): Promise<Answer> {
  const [rawPath, rawQuery = ''] = path.split('?');
  const route = apiRoutes.find((candidate) => {
    const regex = new RegExp(`^${candidate.path.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
    return candidate.method === method && regex.test(rawPath!);
  });
  const names = [...(route?.path ?? '').matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  const values = route ? new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '([^/]+)')}$`).exec(rawPath!)!.slice(1) : [];
  const module = (await import(`../../functions/api/${route?.handler ?? fallbackHandler}.ts`)) as { handler: Handler };
  const event = {
    version: '2.0',
    routeKey: route ? `${route.method} ${route.path}` : 'ANY /{proxy+}',
    rawPath,
    rawQueryString: rawQuery,
    headers: { host: 'api.example.test', ...(authorization === null ? {} : { authorization }) },
    queryStringParameters: rawQuery ? Object.fromEntries(new URLSearchParams(rawQuery)) : undefined,
    pathParameters: route ? Object.fromEntries(names.map((name, i) => [name, values[i]!])) : undefined,
    body: method === 'POST' ? JSON.stringify({ templateId: 'scim' }) : undefined,
    isBase64Encoded: false,
    requestContext: {
      requestId: randomUUID(),
      domainName: 'api.example.test',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'test' },
      routeKey: route ? `${route.method} ${route.path}` : 'ANY /{proxy+}',
      stage: '$default',
    },
  } as unknown as ApiEvent;
  const result = await module.handler(event, {} as Context);
  return { status: result.statusCode ?? 200, headers: (result.headers ?? {}) as Record<string, string>, json: result.body ? JSON.parse(result.body) : undefined };
}

const jobsPath = `/v1.0${syncPath(SP, '/jobs')}`;
const v2 = (way: Way, tid: string) => `${way.loginBaseUrl()}/${tid}/v2.0`;

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack({ tenants: ADMITTED });
});
afterAll(async () => {
  await t?.close();
});

/** The same cases, whichever way the request comes in. */
function tenantCases(name: string, way: () => Way) {
  describe(name, () => {
    const token = (tid: string, extra: JWTPayload = {}, options?: SignOptions) =>
      way().sign({ tid, roles: RW, azp: LOCAL_CLIENT_ID, ...extra }, options).then((jwt) => `Bearer ${jwt}`);
    const expectRefused = (answer: Answer, status: number, code: string) => {
      expect(answer.status).toBe(status);
      expect(answer.json.error).toMatchObject({ code, message: expect.any(String), innerError: { 'request-id': expect.any(String) } });
      if (status === 401) expect(answer.headers['www-authenticate']).toMatch(/^Bearer realm="graph-sync-jobs"/);
    };

    it("accepts an admitted tenant's v2 and v1 tokens, and keeps each tenant to its own jobs", async () => {
      const created = await way().call('POST', jobsPath, await token(TENANT_A));
      expect(created.status).toBe(201);
      const jobId = created.json.id as string;
      const v1 = await token(TENANT_A, {}, { issuer: `https://sts.windows.net/${TENANT_A}/` });
      expect((await way().call('GET', `${jobsPath}/${jobId}`, v1)).status).toBe(200);
      // Tenant B is admitted too, but never sees tenant A's jobs.
      const listB = await way().call('GET', jobsPath, await token(TENANT_B));
      expect(listB.status).toBe(200);
      expect(listB.json.value.map((job: { id: string }) => job.id)).not.toContain(jobId);
      expectRefused(await way().call('GET', `${jobsPath}/${jobId}`, await token(TENANT_B)), 404, 'Request_ResourceNotFound');
    });

    it.each<[string, () => Promise<string | null>, string?]>([
      ['no token', async () => null],
      ['a token of a tenant that is not admitted', () => token(TENANT_X), "tenant '00000000-0000-4000-8000-0000000000ff'"],
      ['an expired token', () => token(TENANT_A, {}, { lifetime: -120 }), 'expired'],
      ['a token not valid yet', () => token(TENANT_A, { nbf: Math.floor(Date.now() / 1000) + 600 }), "'nbf'"],
      ['a token for another audience', () => token(TENANT_A, {}, { audience: 'api://another-app' }), "'aud'"],
      ["a token whose issuer is another tenant's", () => token(TENANT_A, {}, { issuer: v2(way(), TENANT_B) }), "'iss'"],
      ['a token of another issuer altogether', () => token(TENANT_A, {}, { issuer: `https://evil.example/${TENANT_A}/v2.0` }), "'iss'"],
      [
        'a token signed with another key under a known kid',
        async () => {
          const { privateKey } = await generateKeyPair('RS256', { extractable: true });
          const jwt = await new SignJWT({ tid: TENANT_A, roles: RW })
            .setProtectedHeader({ alg: 'RS256', kid: 'local-1' })
            .setIssuer(v2(way(), TENANT_A))
            .setAudience(LOCAL_AUDIENCE)
            .setExpirationTime('1h')
            .sign(await importJWK(await exportJWK(privateKey), 'RS256'));
          return `Bearer ${jwt}`;
        },
        'signature',
      ],
      [
        'an unsigned token (alg none)',
        async () => {
          const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
          const claims = { tid: TENANT_A, roles: RW, iss: v2(way(), TENANT_A), aud: LOCAL_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 };
          return `Bearer ${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
        },
      ],
      ['not a JWT', async () => 'Bearer not-a-jwt'],
    ])('answers 401 InvalidAuthenticationToken to %s, on a job route and on an unknown path', async (_case, bearer, says) => {
      const authorization = await bearer();
      for (const path of [jobsPath, '/v1.0/no/such/path']) {
        const answer = await way().call('GET', path, authorization);
        expectRefused(answer, 401, 'InvalidAuthenticationToken');
        if (says) expect(answer.json.error.message).toContain(says);
        expect(answer.headers['www-authenticate']).toBe(
          authorization === null ? 'Bearer realm="graph-sync-jobs"' : 'Bearer realm="graph-sync-jobs", error="invalid_token"',
        );
      }
    });

    it('answers 403 Authorization_RequestDenied to a valid token without the permission', async () => {
      expectRefused(await way().call('GET', jobsPath, await token(TENANT_A, { roles: ['User.Read.All'] })), 403, 'Authorization_RequestDenied');
    });

    it('refetches the key set for an unknown kid, at most every 30 s', async () => {
      expect((await way().call('GET', jobsPath, await token(TENANT_A))).status).toBe(200);
      const fetched = way().keyRequests();
      await way().rotateKey();
      const rotated = await token(TENANT_A);
      vi.useFakeTimers({ toFake: ['Date'] });
      try {
        // A kid seen right after a fetch is not fetched for again: a flood of made-up kids cannot hammer Entra.
        expectRefused(await way().call('GET', jobsPath, rotated), 401, 'InvalidAuthenticationToken');
        expect(way().keyRequests()).toBeLessThanOrEqual(fetched + 1);
        vi.setSystemTime(Date.now() + 31_000);
        expect((await way().call('GET', jobsPath, rotated)).status).toBe(200);
        expect(way().keyRequests()).toBeGreaterThan(fetched);
      } finally {
        vi.useRealTimers();
      }
    });

    it('answers 503 in Graph shape while the key set cannot be fetched, and keeps serving cached keys', async () => {
      const cachedTenant = await token(TENANT_A);
      expect((await way().call('GET', jobsPath, cachedTenant)).status).toBe(200);
      await way().stopKeyServer();
      const answer = await way().call('GET', jobsPath, await token(TENANT_C));
      expect(answer.status).toBe(503);
      expect(answer.json.error.code).toBe('serviceNotAvailable');
      expect(answer.headers['retry-after']).toBe('10');
      expect((await way().call('GET', jobsPath, cachedTenant)).status).toBe(200);
    });
  });
}

let idp: TestIdentityProvider;
const deployedWay = (): Way => ({
  call: invokeAsApiGateway,
  sign: idp.sign,
  loginBaseUrl: () => idp.identity.loginBaseUrl,
  rotateKey: idp.identity.rotateKey,
  keyRequests: idp.identity.keyRequests,
  stopKeyServer: idp.identity.close,
});

describe('deployed: the Lambda handlers as API Gateway invokes them, keys served over loopback', () => {
  beforeAll(async () => {
    idp = await startTestIdentityProvider({ tenants: ADMITTED });
  });
  afterAll(async () => {
    await idp?.close();
  });
  tenantCases('tenant allow-list', deployedWay);
});

describe('deployed: any tenant, with an allow-list of client apps', () => {
  beforeAll(async () => {
    idp = await startTestIdentityProvider({ tenants: 'any', appIds: 'app-1,app-2' });
  });
  afterAll(async () => {
    await idp?.close();
  });

  it.each([
    ['a v2 token of an admitted app (azp)', { azp: 'app-1' }, 200],
    ['a v1 token of an admitted app (appid)', { appid: 'app-2' }, 200],
    ['a token of another app', { azp: 'app-3' }, 403],
    ['a token naming no app', {}, 403],
  ])('answers %s from any tenant with %s', async (_case, app, status) => {
    const tenant = randomUUID();
    const answer = await invokeAsApiGateway('GET', jobsPath, `Bearer ${await idp.sign({ tid: tenant, roles: RW, ...app })}`);
    expect(answer.status).toBe(status);
    if (status === 403) {
      expect(answer.json.error.code).toBe('Authorization_RequestDenied');
      expect(answer.json.error.message).toMatch(/client application/);
    }
  });

  it('reads the common key set once for all tenants', async () => {
    const before = idp.identity.keyRequests();
    for (const tenant of [randomUUID(), randomUUID(), randomUUID()]) {
      expect((await invokeAsApiGateway('GET', jobsPath, `Bearer ${await idp.sign({ tid: tenant, roles: RW, azp: 'app-1' })}`)).status).toBe(200);
    }
    expect(idp.identity.keyRequests()).toBe(before);
  });
});

/** HTTP to the local gateway (local/api-server.ts), which hands each request to the same handlers. */
async function viaLocalGateway(method: string, path: string, authorization: string | null): Promise<Answer> {
  const response = await fetch(`${t.stack.apiUrl.replace(/\/v1\.0$/, '')}${path}`, {
    method,
    headers: { ...(authorization === null ? {} : { authorization }), ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: method === 'POST' ? JSON.stringify({ templateId: 'scim' }) : undefined,
  });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), json: text ? JSON.parse(text) : undefined };
}

describe('local: the local gateway, verifying against the local identity provider (LOCAL_TENANTS)', () => {
  tenantCases('tenant allow-list', () => ({
    call: viaLocalGateway,
    sign: (claims, options) => t.signToken(claims, options),
    loginBaseUrl: () => t.stack.identity.loginBaseUrl,
    rotateKey: t.stack.identity.rotateKey,
    keyRequests: t.stack.identity.keyRequests,
    stopKeyServer: t.stack.identity.close,
  }));
});

describe('local: any tenant with LOCAL_APP_IDS', () => {
  beforeAll(async () => {
    // The API's SDK clients keep their endpoints, so the stack comes back on the same ports.
    const ports = t.ports;
    await t.close();
    t = await startTestStack({ ports, tenants: 'any', appIds: 'app-1' });
  });

  it('admits any tenant of an admitted app, and refuses other apps with 403', async () => {
    const tenant = randomUUID();
    expect((await viaLocalGateway('GET', jobsPath, `Bearer ${await t.signToken({ tid: tenant, roles: RW, azp: 'app-1' })}`)).status).toBe(200);
    const other = await viaLocalGateway('GET', jobsPath, `Bearer ${await t.signToken({ tid: tenant, roles: RW, azp: 'app-9' })}`);
    expect(other.status).toBe(403);
    expect(other.json.error.code).toBe('Authorization_RequestDenied');
  });
});
