import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { clientCredentialsTokenProvider, TokenCache } from '../../functions/adapters/graph/client-credentials.ts';
import { GraphDirectorySource, type GraphDirectorySourceOptions } from '../../functions/adapters/graph/graph-directory-source.ts';
import {
  ResyncRequiredError,
  SourceUnavailableError,
  type DirectoryObject,
  type DirectoryPage,
} from '../../functions/ports/directory-source.ts';
import { ThrottledError } from '../../functions/ports/throttled-error.ts';
import { startLocalDirectory, type LocalDirectory } from '../../local/directory/local-directory.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function directory(options: Parameters<typeof startLocalDirectory>[0]) {
  const local = await startLocalDirectory(options);
  closers.push(local.close);
  return local;
}

/** A source over `url` that counts its HTTP requests. */
function source(url: string, overrides: Partial<GraphDirectorySourceOptions> = {}) {
  const requests: string[] = [];
  const counting: typeof fetch = (input, init) => {
    requests.push(String(input));
    return fetch(input, init);
  };
  const graph = new GraphDirectorySource({
    baseUrl: url,
    getAccessToken: async () => null,
    userAttributes: ['displayName', 'userPrincipalName', 'accountEnabled', 'jobTitle'],
    groupAttributes: ['displayName', 'description'],
    fetch: counting,
    sleep: async () => {},
    ...overrides,
  });
  return { graph, requests };
}

async function readRound(graph: GraphDirectorySource, watermark: string | null) {
  const pages: DirectoryPage[] = [];
  let position = watermark;
  for (;;) {
    const page = await graph.readPage(position);
    pages.push(page);
    position = page.watermark;
    if (page.roundComplete) return { pages, objects: pages.flatMap((p) => p.objects), watermark: page.watermark };
    expect(pages.length).toBeLessThan(50);
  }
}

async function call(local: LocalDirectory, method: string, path: string, body?: unknown) {
  const response = await fetch(`${local.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

describe('GraphDirectorySource against the local directory', () => {
  it('reads a full round: users to their deltaLink, then groups with every member', async () => {
    const local = await directory({ seedUsers: 7, seedGroups: 2, pageSize: 3 });
    const { graph, requests } = source(local.url);
    const round = await readRound(graph, null);

    expect(round.pages.map((p) => [p.objects.map((o) => o.type).join(','), p.roundComplete])).toEqual([
      ['User,User,User', false],
      ['User,User,User', false],
      ['User', false],
      ['Group,Group', true],
    ]);
    expect(requests[0]).toBe(`${local.url}/users/delta?$select=displayName,userPrincipalName,accountEnabled,jobTitle`);
    expect(requests[3]).toBe(`${local.url}/groups/delta?$select=displayName,description,members`);

    const users = round.objects.filter((o) => o.type === 'User');
    expect(new Set(users.map((u) => u.id)).size).toBe(7);
    expect(users[0]).toEqual({
      type: 'User',
      id: expect.any(String),
      attributes: { displayName: 'Adele Vance', userPrincipalName: 'adele.vance@contoso.example', accountEnabled: true, jobTitle: 'Engineer' },
      membersAdded: [],
      membersRemoved: [],
      removed: null,
    });
    const engineering = round.objects.find((o) => o.attributes.displayName === 'Engineering')!;
    // The seed puts users 0 and 6 into Engineering.
    expect(engineering.membersAdded.sort()).toEqual([users[0]!.id, users[6]!.id].sort());
    expect(engineering.attributes).toEqual({ displayName: 'Engineering', description: 'Everyone in Engineering' });
  });

  it('reads an idle round as one page of two requests, and an incremental round with every kind of change', async () => {
    const local = await directory({ seedUsers: 4, seedGroups: 1 });
    const { graph, requests } = source(local.url);
    const full = await readRound(graph, null);
    const [u0, u1, u2, u3] = full.objects.filter((o) => o.type === 'User').map((o) => o.id);
    const group = full.objects.find((o) => o.type === 'Group')!.id;

    requests.length = 0;
    const idle = await graph.readPage(full.watermark);
    expect(idle.objects).toEqual([]);
    expect(idle.roundComplete).toBe(true);
    expect(requests).toHaveLength(2);

    const created = await call(local, 'POST', '/users', { displayName: 'New Hire', userPrincipalName: 'new.hire@contoso.example' });
    await call(local, 'PATCH', `/users/${u1}`, { jobTitle: 'Captain', accountEnabled: false });
    await call(local, 'DELETE', `/users/${u2}`);
    await call(local, 'DELETE', `/users/${u3}`);
    await call(local, 'DELETE', `/directory/deletedItems/${u3}`);
    await call(local, 'POST', `/groups/${group}/members/$ref`, { '@odata.id': `${local.url}/directoryObjects/${created.id}` });
    await call(local, 'DELETE', `/groups/${group}/members/${u0}/$ref`);

    const round = await readRound(graph, idle.watermark);
    const byId = new Map(round.objects.map((o) => [o.id, o]));
    expect(byId.get(created.id)).toMatchObject({ type: 'User', removed: null, attributes: { displayName: 'New Hire', jobTitle: null } });
    expect(byId.get(u1!)).toMatchObject({ removed: null, attributes: { jobTitle: 'Captain', accountEnabled: false } });
    expect(byId.get(u2!)).toEqual({ type: 'User', id: u2, attributes: {}, membersAdded: [], membersRemoved: [], removed: 'changed' });
    expect(byId.get(u3!)).toMatchObject({ removed: 'deleted' });
    expect(byId.get(u0!)).toBeUndefined();
    expect(byId.get(group)).toMatchObject({ type: 'Group', membersAdded: [created.id], membersRemoved: [u0], removed: null });

    const after = await graph.readPage(round.watermark);
    expect(after).toMatchObject({ objects: [], roundComplete: true });
  });

  it('delivers a group split over pages with all its user members, once per page, without nested groups', async () => {
    const local = await directory({ seedUsers: 0, memberLimit: 2 });
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) {
      ids.push((await call(local, 'POST', '/users', { displayName: name, userPrincipalName: `${name}@contoso.example` })).id);
    }
    const group = (await call(local, 'POST', '/groups', { displayName: 'Big' })).id;
    const nested = (await call(local, 'POST', '/groups', { displayName: 'Nested' })).id;
    for (const id of ids) await call(local, 'POST', `/groups/${group}/members/$ref`, { '@odata.id': `${local.url}/users/${id}` });
    await call(local, 'POST', `/groups/${group}/members/$ref`, { '@odata.id': `${local.url}/groups/${nested}` });

    const { graph } = source(local.url);
    const round = await readRound(graph, null);
    const pieces = round.objects.filter((o) => o.id === group);
    for (const page of round.pages) expect(new Set(page.objects.map((o) => o.id)).size).toBe(page.objects.length);
    // Nested groups are not members a SCIM target can take; only the five users come through.
    expect(pieces.flatMap((p) => p.membersAdded).sort()).toEqual([...ids].sort());
  });

  it('throws ResyncRequiredError when the directory expired the delta token', async () => {
    const local = await directory({ seedUsers: 2 });
    const { graph } = source(local.url);
    const full = await readRound(graph, null);
    local.expireDeltaTokens();
    await expect(graph.readPage(full.watermark)).rejects.toBeInstanceOf(ResyncRequiredError);
    await expect(graph.readPage('{not json')).rejects.toBeInstanceOf(ResyncRequiredError);
    const other = source(local.url, { userAttributes: ['displayName', 'mail'] });
    await expect(other.graph.readPage(full.watermark)).rejects.toBeInstanceOf(ResyncRequiredError);
  });

  it('pins the selection with a digest, and reads on from a position saved with the selection spelled out', async () => {
    const local = await directory({ seedUsers: 2 });
    const { graph } = source(local.url);
    const full = await readRound(graph, null);
    const saved = JSON.parse(full.watermark) as { select: string };
    expect(saved.select).toMatch(/^[\w-]{22}$/);
    await call(local, 'PATCH', `/users/${full.objects.find((o) => o.type === 'User')!.id}`, { jobTitle: 'Changed' });

    // As positions were saved before: the attribute lists themselves (users|groups, members added).
    const spelledOut = JSON.stringify({ ...saved, select: 'displayName,userPrincipalName,accountEnabled,jobTitle|displayName,description,members' });
    const next = await readRound(graph, spelledOut);
    expect(next.objects.map((o) => o.attributes.jobTitle)).toEqual(['Changed']);
    const other = source(local.url, { userAttributes: ['displayName', 'mail'] });
    await expect(other.graph.readPage(spelledOut)).rejects.toBeInstanceOf(ResyncRequiredError);
  });
});

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A fake Graph that answers each request with the next handler. */
async function fakeGraph(handlers: Handler[]) {
  const seen: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    seen.push(request);
    const handler = handlers.shift();
    if (!handler) response.writeHead(599).end();
    else handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Requests a test left unanswered would otherwise keep the server open until their keep-alive ends.
        server.closeAllConnections();
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${base}/v1.0`, base, seen };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Handler => (_request, response) => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};

const graphError = (code: string) => ({ error: { code, message: `${code} happened`, innerError: {} } });
const now = new Date('2026-03-01T10:00:00.000Z');

describe('GraphDirectorySource against a misbehaving Graph', () => {
  it('never follows a redirect (to an internal address or anywhere): the directory is unusable, and says why', async () => {
    const internal = await fakeGraph([json(200, { value: [{ id: 'secret', displayName: 'Internal' }], '@odata.deltaLink': 'x' })]);
    const fake = await fakeGraph([
      (_request, response) => response.writeHead(302, { location: `http://127.0.0.2:${new URL(internal.base).port}/v1.0/users/delta` }).end(),
    ]);
    const { graph } = source(fake.url, { getAccessToken: async () => 'token-1' });
    const failure = graph.readPage(null);
    await expect(failure).rejects.toBeInstanceOf(SourceUnavailableError);
    await expect(failure).rejects.toThrow(/with a redirect \(302\), which is not followed/);
    expect(internal.seen).toHaveLength(0);
  });

  it('retries 429 and 503 honouring Retry-After, then returns the page', async () => {
    let deltaLink = '';
    const fake = await fakeGraph([
      json(429, graphError('TooManyRequests'), { 'retry-after': '7' }),
      json(503, graphError('serviceNotAvailable')),
      (request, response) => json(200, { value: [{ id: 'u1', displayName: 'One' }], '@odata.deltaLink': deltaLink })(request, response),
    ]);
    deltaLink = `${fake.url}/users/delta?$deltatoken=abc`;
    const sleeps: number[] = [];
    let time = now.getTime();
    const { graph } = source(fake.url, {
      getAccessToken: async () => 'token-1',
      clock: { now: () => new Date(time) },
      sleep: async (ms) => {
        sleeps.push(ms);
        time += ms;
      },
      random: () => 0.5,
    });
    const page = await graph.readPage(null);
    // Retry-After 7 s, then full jitter: 0.5 × 500 ms × 2^1.
    expect(sleeps).toEqual([7000, 500]);
    expect(page.objects.map((o: DirectoryObject) => o.id)).toEqual(['u1']);
    expect(page.roundComplete).toBe(false);
    expect(fake.seen.map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-1']);
  });

  it('ends a 5xx storm with ThrottledError after its tries, without returning a partial page', async () => {
    const fake = await fakeGraph(Array.from({ length: 3 }, () => json(500, graphError('generalException'))));
    const { graph } = source(fake.url, { maxAttempts: 3, clock: { now: () => now }, random: () => 0.5 });
    const failure = graph.readPage(null);
    await expect(failure).rejects.toBeInstanceOf(ThrottledError);
    // No Retry-After: retryAt is the back-off estimate, the next step's ceiling of 500 ms × 2^2.
    await expect(failure).rejects.toMatchObject({
      system: 'source',
      retryAt: new Date(now.getTime() + 2000),
      message: 'The directory answered 500 generalException: generalException happened (after 3 attempts)',
    });
    expect(fake.seen).toHaveLength(3);
  });

  it('ends a 429 with Retry-After 3600 at once with ThrottledError, retryAt one hour on', async () => {
    const fake = await fakeGraph([json(429, graphError('TooManyRequests'), { 'retry-after': '3600' }), json(200, { value: [] })]);
    const sleeps: number[] = [];
    const { graph } = source(fake.url, { clock: { now: () => now }, sleep: async (ms) => void sleeps.push(ms) });
    const started = performance.now();
    const failure = await graph.readPage(null).catch((error: unknown) => error);
    expect(performance.now() - started).toBeLessThan(500);
    expect(failure).toBeInstanceOf(ThrottledError);
    expect(failure).toMatchObject({ system: 'source', retryAt: new Date(now.getTime() + 3_600_000) });
    expect(sleeps).toEqual([]);
    expect(fake.seen).toHaveLength(1);
    // The throttle holds the whole source back: the next read is not even sent.
    await expect(graph.readObjects([{ type: 'User', id: 'u1' }])).rejects.toBeInstanceOf(ThrottledError);
    expect(fake.seen).toHaveLength(1);
  });

  it('retries a request that times out, then ends with ThrottledError', async () => {
    const fake = await fakeGraph([() => undefined, () => undefined]);
    const { graph } = source(fake.url, { timeoutMs: 50, maxAttempts: 2 });
    await expect(graph.readPage(null)).rejects.toMatchObject({ name: 'ThrottledError', system: 'source', message: expect.stringMatching(/timed out \(after 2 attempts\)/) });
    expect(fake.seen).toHaveLength(2);
  });

  it.each([400, 404, 501])('turns %i on a delta request into SourceUnavailableError without retrying', async (status) => {
    const fake = await fakeGraph([json(status, graphError('badRequest'))]);
    const { graph } = source(fake.url);
    await expect(graph.readPage(null)).rejects.toMatchObject({ name: 'SourceUnavailableError', tenantActionable: true });
    expect(fake.seen).toHaveLength(1);
  });

  it('turns 401 into SourceUnavailableError the tenant can act on, without retrying', async () => {
    const fake = await fakeGraph([json(401, graphError('InvalidAuthenticationToken'))]);
    const { graph } = source(fake.url);
    await expect(graph.readPage(null)).rejects.toMatchObject({ name: 'SourceUnavailableError', tenantActionable: true });
    expect(fake.seen).toHaveLength(1);
  });

  it('turns 410 and syncStateNotFound into ResyncRequiredError', async () => {
    const fake = await fakeGraph([
      json(410, graphError('resyncRequired'), { location: 'http://127.0.0.1/v1.0/users/delta' }),
      json(400, graphError('syncStateNotFound')),
    ]);
    const { graph } = source(fake.url);
    await expect(graph.readPage(null)).rejects.toBeInstanceOf(ResyncRequiredError);
    await expect(graph.readPage(null)).rejects.toBeInstanceOf(ResyncRequiredError);
  });

  it('treats an unreachable directory, a malformed page and a foreign link as unavailable', async () => {
    const fake = await fakeGraph([
      json(200, { value: [] }),
      json(200, { value: [], '@odata.nextLink': 'https://elsewhere.example/v1.0/users/delta?$skiptoken=x' }),
    ]);
    const { graph } = source(fake.url);
    await expect(graph.readPage(null)).rejects.toBeInstanceOf(SourceUnavailableError);
    await expect(graph.readPage(null)).rejects.toThrow(/another host/);

    const closed = await fakeGraph([]);
    await closers.pop()!();
    const unreachable = source(closed.url, { maxAttempts: 2 });
    // A refused connection is not retried: like the target, the job goes to quarantine.
    await expect(unreachable.graph.readPage(null)).rejects.toMatchObject({
      name: 'SourceUnavailableError',
      tenantActionable: true,
      message: expect.stringMatching(/cannot be reached \(ECONNREFUSED\)/),
    });
    expect(unreachable.requests).toHaveLength(1);
  });

  it('merges duplicates within a page: later attributes win, member changes accumulate', async () => {
    let base = '';
    const fake = await fakeGraph([
      (request, response) =>
        json(200, { value: [], '@odata.deltaLink': `${base}/users/delta?$deltatoken=u` })(request, response),
      (request, response) =>
        json(200, {
          value: [
            { id: 'g1', displayName: 'Old', 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: 'a' }] },
            {
              id: 'g1',
              displayName: 'New',
              'members@delta': [
                { '@odata.type': '#microsoft.graph.user', id: 'b' },
                { '@odata.type': '#microsoft.graph.user', id: 'a', '@removed': { reason: 'deleted' } },
                { '@odata.type': '#microsoft.graph.group', id: 'g2' },
              ],
            },
            { id: 'g3', '@removed': { reason: 'deleted' } },
          ],
          '@odata.deltaLink': `${base}/groups/delta?$deltatoken=g`,
        })(request, response),
    ]);
    base = fake.url;
    const { graph } = source(fake.url);
    const page = await graph.readPage(null);
    expect(page.roundComplete).toBe(true);
    expect(page.objects).toEqual([
      // A nested group is not a member, but says the group's flattened membership may have changed.
      { type: 'Group', id: 'g1', attributes: { displayName: 'New' }, membersAdded: ['b'], membersRemoved: ['a'], removed: null, memberGroupsChanged: true },
      { type: 'Group', id: 'g3', attributes: {}, membersAdded: [], membersRemoved: [], removed: 'deleted' },
    ]);
    expect(JSON.parse(page.watermark)).toMatchObject({
      phase: 'users',
      users: `${fake.url}/users/delta?$deltatoken=u`,
      groups: `${fake.url}/groups/delta?$deltatoken=g`,
    });
  });
});

describe('clientCredentialsTokenProvider', () => {
  it('requests a Graph token with client credentials and caches it until shortly before expiry', async () => {
    const bodies: string[] = [];
    const answer = (token: string): Handler => (request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        bodies.push(body);
        json(200, { token_type: 'Bearer', expires_in: 3600, access_token: token })(request, response);
      });
    };
    const fake = await fakeGraph([answer('first'), answer('second')]);
    let now = 1_000_000;
    const getToken = clientCredentialsTokenProvider({
      loginBaseUrl: fake.base,
      tenantId: 'contoso-tenant',
      clientId: 'app-id',
      clientSecret: 's3cret',
      now: () => now,
    });

    const [a, b] = await Promise.all([getToken(), getToken()]);
    expect([a, b]).toEqual(['first', 'first']);
    expect(fake.seen).toHaveLength(1);
    expect(fake.seen[0]!.url).toBe('/contoso-tenant/oauth2/v2.0/token');
    expect(Object.fromEntries(new URLSearchParams(bodies[0]))).toEqual({
      client_id: 'app-id',
      client_secret: 's3cret',
      scope: 'https://graph.microsoft.com/.default',
      grant_type: 'client_credentials',
    });

    now += 54 * 60 * 1000;
    expect(await getToken()).toBe('first');
    now += 2 * 60 * 1000;
    expect(await getToken()).toBe('second');
  });

  const token = (value: string, expiresIn = 3600): Handler => json(200, { token_type: 'Bearer', expires_in: expiresIn, access_token: value });
  const provider = (base: string, cache: TokenCache, clientSecret = 's3cret') =>
    clientCredentialsTokenProvider({ loginBaseUrl: base, tenantId: 'contoso-tenant', clientId: 'app-id', clientSecret, cache });

  it('shares a cache across the providers of many ticks: one token per lifetime, and one of its own for a changed secret', async () => {
    const fake = await fakeGraph([token('first'), token('second'), token('rotated')]);
    let now = 1_000_000;
    const cache = new TokenCache({ now: () => now });
    // Each tick builds its connection, and so its provider, anew.
    for (let tick = 0; tick < 10; tick += 1) {
      expect(await provider(fake.base, cache)()).toBe('first');
      now += 5 * 60 * 1000;
    }
    expect(fake.seen).toHaveLength(1);
    now += 5 * 60 * 1000; // 55 minutes: within 5 minutes of the hour's expiry
    expect(await provider(fake.base, cache)()).toBe('second');
    expect(await provider(fake.base, cache, 'new-secret')()).toBe('rotated');
    expect(await provider(fake.base, cache)()).toBe('second');
    expect(fake.seen).toHaveLength(3);
  });

  it('drops a token the directory answers 401 to and tries once more with a fresh one; a second 401 is the answer', async () => {
    const fake = await fakeGraph([
      token('revoked'),
      json(401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } }),
      token('fresh'),
      json(200, {}),
      // A later tick: the fresh token is reused.
      json(200, {}),
      // A token refused twice in a row stops the request.
      json(401, { error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed.' } }),
      token('fresher'),
      json(401, { error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed.' } }),
    ]);
    const cache = new TokenCache();
    const tick = () => source(fake.url, { getAccessToken: provider(fake.base, cache) }).graph;
    expect(await tick().renew('sub-1', '2026-01-01T00:00:00Z')).toBe(true);
    expect(await tick().renew('sub-1', '2026-01-01T00:00:00Z')).toBe(true);
    await expect(tick().renew('sub-1', '2026-01-01T00:00:00Z')).rejects.toThrow(SourceUnavailableError);
    const authorizations = fake.seen.filter((request) => request.url!.includes('/subscriptions/')).map((request) => request.headers.authorization);
    expect(authorizations).toEqual(['Bearer revoked', 'Bearer fresh', 'Bearer fresh', 'Bearer fresh', 'Bearer fresher']);
    expect(fake.seen.filter((request) => request.url!.includes('/oauth2/'))).toHaveLength(3);
  });

  it('reports the identity platform error without the secret', async () => {
    const fake = await fakeGraph([
      json(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x' }),
    ]);
    const getToken = clientCredentialsTokenProvider({
      loginBaseUrl: fake.base,
      tenantId: 't',
      clientId: 'c',
      clientSecret: 'very-secret-value',
    });
    const failure = getToken();
    await expect(failure).rejects.toThrow('invalid_client: AADSTS7000215: Invalid client secret provided.');
    await expect(failure).rejects.not.toThrow(/very-secret-value|Trace ID/);
  });
});
