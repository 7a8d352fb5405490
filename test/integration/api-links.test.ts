import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPath } from '../support/local-stack.ts';
import { startHttpsTestStack, trustCaInThisProcess, type HttpsTestStack } from '../support/https-stack.ts';

const SP = 'links-app';
let t: HttpsTestStack;
let untrust: () => Promise<void>;
let bases: { http: string; https: string };

beforeAll(async () => {
  t = await startHttpsTestStack({ seed: { users: 6, groups: 1 } });
  // fetch in this process trusts the local CA, as NODE_EXTRA_CA_CERTS would for a process started with it.
  untrust = trustCaInThisProcess(t.caPem);
  bases = { http: t.stack.apiUrl, https: t.httpsApiUrl };
  for (let i = 0; i < 3; i += 1) expect((await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } })).status).toBe(201);
});

afterAll(async () => {
  await untrust?.();
  await t?.close();
});

async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, location: response.headers.get('location'), json: text ? JSON.parse(text) : undefined };
}

describe('links name the scheme and host the request came in on', () => {
  it.each(['http', 'https'] as const)('over %s: Location of a created job, the list context and its @odata.nextLink', async (scheme) => {
    const base = bases[scheme];
    const origin = new URL(base).origin;
    expect(origin.startsWith(`${scheme}://`)).toBe(true);

    const created = await call(base, 'POST', syncPath(SP, '/jobs'), { templateId: 'scim' });
    expect(created.status).toBe(201);
    expect(created.location).toBe(`${base}${syncPath(SP, `/jobs/${created.json.id}`)}`);
    // The Location answers as it is.
    expect((await call(base, 'GET', created.location!)).json.id).toBe(created.json.id);

    const first = await call(base, 'GET', `${syncPath(SP, '/jobs')}?$top=2`);
    expect(first.json['@odata.context']).toMatch(new RegExp(`^${origin}/v1\\.0/\\$metadata#`));
    const next: string = first.json['@odata.nextLink'];
    expect(new URL(next).origin).toBe(origin);
    const second = await call(base, 'GET', next);
    expect(second.status).toBe(200);
    expect(second.json.value.length).toBeGreaterThan(0);
    expect(second.json.value.map((job: { id: string }) => job.id)).not.toContain(first.json.value[0].id);

    expect((await call(base, 'DELETE', created.location!)).status).toBe(204);
  });

  it.each(['http', 'https'] as const)('over %s: the provisioning logs context and @odata.nextLink', async (scheme) => {
    const base = bases[scheme];
    const origin = new URL(base).origin;
    // Its own app and users per scheme, so each provisions accounts of its own (and logs them).
    const sp = `logs-${scheme}-app`;
    const job = (await call(base, 'POST', syncPath(sp, '/jobs'), { templateId: 'scim' })).json.id;
    await call(base, 'PUT', syncPath(sp, '/secrets'), {
      value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: t.stack.scimToken }, { key: 'SyncAll', value: 'true' }],
    });
    const users = ((await (await fetch(`${t.stack.directoryUrl}/users`)).json()) as { value: { id: string; accountEnabled?: boolean }[] }).value
      .filter((user) => user.accountEnabled !== false)
      .slice(scheme === 'http' ? 0 : 2, scheme === 'http' ? 2 : 4);
    expect(users).toHaveLength(2);
    const provisioned = await call(base, 'POST', syncPath(sp, `/jobs/${job}/provisionOnDemand`), {
      parameters: [{ ruleId: 'AAD2SCIM', subjects: users.map((user) => ({ objectId: user.id, objectTypeName: 'User' })) }],
    });
    expect(provisioned.status).toBe(200);

    const first = await call(base, 'GET', `/auditLogs/provisioning?$top=1&$filter=${encodeURIComponent(`jobId eq '${job}'`)}`);
    expect(first.status).toBe(200);
    expect(first.json['@odata.context']).toBe(`${origin}/v1.0/$metadata#auditLogs/provisioning`);
    const next: string = first.json['@odata.nextLink'];
    expect(new URL(next).origin).toBe(origin);
    const second = await call(base, 'GET', next);
    expect(second.status).toBe(200);
    expect(second.json.value).toHaveLength(1);
    expect(second.json.value[0].id).not.toBe(first.json.value[0].id);
  });

  it.each(['http', 'https'] as const)('over %s: the Host the client sent, here localhost', async (scheme) => {
    const base = new URL(bases[scheme]);
    const send = scheme === 'http' ? httpRequest : httpsRequest;
    const location = await new Promise<string | undefined>((resolve, reject) => {
      const request = send(
        {
          host: base.hostname,
          port: base.port,
          method: 'POST',
          path: `/v1.0${syncPath(SP, '/jobs')}`,
          // The certificate covers localhost too, so the name checks out over https.
          ...(scheme === 'https' ? { ca: t.caPem, servername: 'localhost' } : {}),
          headers: { host: `localhost:${base.port}`, authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.headers.location));
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ templateId: 'scim' }));
    });
    expect(location).toMatch(new RegExp(`^${scheme}://localhost:${base.port}/v1\\.0/servicePrincipals/${SP}/synchronization/jobs/scim\\.`));
  });
});
