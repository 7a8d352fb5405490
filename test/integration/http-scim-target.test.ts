import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpScimTarget, quoteFilterValue, type HttpScimTargetOptions } from '../../functions/adapters/scim/http-scim-target.ts';
import { ScimRequestError, TargetUnavailableError } from '../../functions/ports/scim-target.ts';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { startScimmyScimServer } from '../support/scimmy-scim-server.js';

const token = 'http-scim-target-test-token';
const userSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';
const enterpriseSchema = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const groupSchema = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const newUser = (userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  schemas: [userSchema, enterpriseSchema],
  userName,
  active: true,
  ...extra,
});

interface RunningTarget {
  url: string;
  close(): Promise<void>;
}

describe.each([
  ['the local SCIM service', (): Promise<RunningTarget> => startLocalScimService({ token })],
  ['SCIMMY (third-party)', (): Promise<RunningTarget> => startScimmyScimServer({ token })],
])('HttpScimTarget against %s', (_name, start) => {
  let server: RunningTarget;
  let target: HttpScimTarget;

  beforeEach(async () => {
    server = await start();
    target = new HttpScimTarget({ baseUrl: server.url, token, sleep: async () => undefined });
  });

  afterEach(async () => {
    await target.close();
    await server.close();
  });

  it('creates a user and finds it by userName and by externalId', async () => {
    const created = await target.create('Users', newUser('alice@contoso.com', { externalId: 'alice', [enterpriseSchema]: { department: 'Finance' } }));
    expect(created.id).toEqual(expect.any(String));

    const byUserName = await target.findBy('Users', 'userName', 'alice@contoso.com');
    const byExternalId = await target.findBy('Users', 'externalId', 'alice');
    expect(byUserName).toMatchObject({ id: created.id, userName: 'alice@contoso.com', [enterpriseSchema]: { department: 'Finance' } });
    expect(byExternalId?.id).toBe(created.id);
    expect(await target.findBy('Users', 'userName', 'nobody@contoso.com')).toBeNull();
  });

  it('lists every user in pages with the requested attributes', async () => {
    for (let index = 1; index <= 5; index += 1) await target.create('Users', newUser(`user${index}@contoso.com`, { externalId: `ext-${index}` }));

    const pages = [await target.list('Users', ['userName', 'externalId'], 1, 2), await target.list('Users', ['userName', 'externalId'], 3, 2), await target.list('Users', ['userName', 'externalId'], 5, 2)];

    expect(pages.map((page) => page.totalResults)).toEqual([5, 5, 5]);
    expect(pages.map((page) => page.resources.length)).toEqual([2, 2, 1]);
    const listed = pages.flatMap((page) => page.resources);
    expect(listed.map((resource) => resource.userName).sort()).toEqual([1, 2, 3, 4, 5].map((index) => `user${index}@contoso.com`));
    expect(listed[0]).toMatchObject({ id: expect.any(String), userName: expect.any(String), externalId: expect.any(String) });
    expect(listed[0]).not.toHaveProperty('active');
  });

  it('patches a user in RFC form, disabling it and setting an extension attribute', async () => {
    const created = await target.create('Users', newUser('bob@contoso.com'));
    await target.patch('Users', created.id, [
      { op: 'replace', path: 'active', value: 'False' },
      { op: 'replace', path: `${enterpriseSchema}:department`, value: 'Research' },
      { op: 'replace', path: 'displayName', value: 'Bob' },
    ]);
    const read = await target.findBy('Users', 'userName', 'bob@contoso.com');
    expect(read).toMatchObject({ active: false, displayName: 'Bob', [enterpriseSchema]: { department: 'Research' } });
  });

  it('creates a group, adds and removes members', async () => {
    const carol = await target.create('Users', newUser('carol@contoso.com'));
    const dave = await target.create('Users', newUser('dave@contoso.com'));
    const group = await target.create('Groups', { schemas: [groupSchema], displayName: 'Engineering', externalId: 'obj-eng' });

    await target.patch('Groups', group.id, [{ op: 'add', path: 'members', value: [{ value: carol.id }, { value: dave.id }] }]);
    await target.patch('Groups', group.id, [{ op: 'remove', path: `members[value eq ${quoteFilterValue(carol.id)}]` }]);

    const found = await target.findBy('Groups', 'displayName', 'Engineering');
    expect(found).toMatchObject({ id: group.id, displayName: 'Engineering' });
    const page = await target.list('Groups', ['displayName', 'members'], 1, 10);
    expect(page.resources[0]?.members).toEqual([expect.objectContaining({ value: dave.id })]);
  });

  it('reports a duplicate userName as ScimRequestError 409 with scimType uniqueness', async () => {
    await target.create('Users', newUser('erin@contoso.com'));
    const duplicate = target.create('Users', newUser('erin@contoso.com'));
    await expect(duplicate).rejects.toBeInstanceOf(ScimRequestError);
    await expect(duplicate).rejects.toMatchObject({ status: 409, scimType: 'uniqueness' });
  });

  it('deletes, and counts a resource that is already gone as deleted', async () => {
    const created = await target.create('Users', newUser('frank@contoso.com'));
    await target.delete('Users', created.id);
    expect(await target.findBy('Users', 'userName', 'frank@contoso.com')).toBeNull();
    await expect(target.delete('Users', created.id)).resolves.toBeUndefined();
  });

  it('reports refused credentials as TargetUnavailableError', async () => {
    const wrong = new HttpScimTarget({ baseUrl: server.url, token: 'wrong-token', sleep: async () => undefined });
    try {
      await expect(wrong.findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(TargetUnavailableError);
    } finally {
      await wrong.close();
    }
  });
});

describe('HttpScimTarget against the local SCIM service: wire forms, retries and failures', () => {
  let service: LocalScimService;
  let dispatcher: Agent;
  let sleeps: number[];
  const now = new Date('2026-03-01T10:00:00.000Z');

  const target = (options: Partial<HttpScimTargetOptions> = {}): HttpScimTarget =>
    new HttpScimTarget({
      baseUrl: service.url,
      token,
      dispatcher,
      sleep: async (ms) => void sleeps.push(ms),
      clock: { now: () => now },
      random: () => 0.5,
      baseDelayMs: 100,
      ...options,
    });

  beforeAll(async () => {
    service = await startLocalScimService({ token, recordRequests: true });
    dispatcher = new Agent({ connections: 4, keepAliveTimeout: 10_000 });
  });

  afterAll(async () => {
    await dispatcher.close();
    await service.close();
  });

  beforeEach(() => {
    sleeps = [];
    service.clearFaults();
    service.clearRequests();
  });

  // SCIMMY 1.3.5 answers 400 to any escaped quote in a filter, so this runs against the local service only.
  it('quotes filter values so that quotes and backslashes match literally', async () => {
    const awkward = 'o"brien\\ops@contoso.com';
    const created = await target().create('Users', newUser(awkward));
    // Were `\\` not decoded as one backslash, the filter would find this one instead.
    await target().create('Users', newUser('o"brien\\\\ops@contoso.com'));
    expect((await target().findBy('Users', 'userName', awkward))?.id).toBe(created.id);
  });

  it('waits as long as Retry-After says (seconds) on 429, then succeeds', async () => {
    service.failNext({ status: 429, retryAfter: '2' });
    const created = await target().create('Users', newUser('retry-seconds@contoso.com'));
    expect(created.id).toEqual(expect.any(String));
    expect(sleeps).toEqual([2000]);
    expect(service.requests().map((request) => request.method)).toEqual(['POST', 'POST']);
  });

  it('holds every later request of the same target back until the Retry-After has passed', async () => {
    const shared = target();
    service.failNext({ status: 429, retryAfter: '2' });
    await shared.create('Users', newUser('retry-shared@contoso.com'));
    // The clock here stands still, so the target still asks to hold off: the next request waits before it is sent.
    await shared.findBy('Users', 'userName', 'retry-shared@contoso.com');
    expect(sleeps).toEqual([2000, 2000]);
    expect(service.requests().map((request) => request.method)).toEqual(['POST', 'POST', 'GET']);
  });

  it('honours Retry-After given as an HTTP date', async () => {
    service.failNext({ status: 429, retryAfter: new Date(now.getTime() + 7000).toUTCString() });
    await target().findBy('Users', 'userName', 'nobody@contoso.com');
    expect(sleeps).toEqual([7000]);
  });

  it('backs off exponentially with jitter on 5xx', async () => {
    service.failNext({ status: 500, times: 2 });
    service.failNext({ status: 503 });
    await expect(target({ maxRetries: 3 }).list('Users', ['userName'], 1, 10)).resolves.toMatchObject({ totalResults: expect.any(Number) });
    // random 0.5 × 100 ms × 2^attempt
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('gives up after maxRetries with a ScimRequestError carrying the last status', async () => {
    service.failNext({ status: 503, times: 10 });
    const failing = target({ maxRetries: 2 }).findBy('Users', 'userName', 'x');
    await expect(failing).rejects.toBeInstanceOf(ScimRequestError);
    await expect(failing).rejects.toMatchObject({ status: 503 });
    expect(sleeps).toHaveLength(2);
    expect(service.requests()).toHaveLength(3);
  });

  it('stops at once when Retry-After asks for longer than maxDelayMs, so the engine can escrow the object', async () => {
    service.failNext({ status: 429, retryAfter: '3600' });
    await expect(target({ maxDelayMs: 60_000 }).delete('Users', 'any')).rejects.toMatchObject({ status: 429 });
    expect(sleeps).toEqual([]);
  });

  it('never turns a failed list or find into an empty answer', async () => {
    service.failNext({ status: 500, times: 2 });
    await expect(target({ maxRetries: 0 }).list('Users', ['userName'], 1, 10)).rejects.toBeInstanceOf(ScimRequestError);
    await expect(target({ maxRetries: 0 }).findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(ScimRequestError);
  });

  it('reports 403 as TargetUnavailableError without retrying', async () => {
    service.failNext({ status: 403 });
    await expect(target().findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(TargetUnavailableError);
    expect(sleeps).toEqual([]);
  });

  it('sends RFC forms: scim+json, PatchOp with lowercase ops and a boolean active', async () => {
    const created = await target().create('Users', newUser('wire@contoso.com', { active: 'True' }));
    await target().patch('Users', created.id, [
      { op: 'replace', path: 'active', value: 'False' },
      { op: 'replace', value: { active: 'True', title: 'Lead' } },
    ]);
    await target().findBy('Groups', 'displayName', 'Team "A"');

    const [post, patch, find] = service.requests();
    expect(post).toMatchObject({ method: 'POST', contentType: 'application/scim+json', body: { active: true } });
    expect(patch).toMatchObject({
      method: 'PATCH',
      path: `/Users/${created.id}`,
      contentType: 'application/scim+json',
      body: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [
          { op: 'replace', path: 'active', value: false },
          { op: 'replace', value: { active: true, title: 'Lead' } },
        ],
      },
    });
    const findQuery = new URL(`http://x${find?.path}`).searchParams;
    expect(findQuery.get('filter')).toBe('displayName eq "Team \\"A\\""');
    expect(findQuery.get('excludedAttributes')).toBe('members');
  });

  it('reports a refused connection as TargetUnavailableError', async () => {
    const closed = await listenThenClose();
    const unreachable = new HttpScimTarget({ baseUrl: `http://127.0.0.1:${closed}/scim/v2`, token, sleep: async (ms) => void sleeps.push(ms) });
    try {
      await expect(unreachable.findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(TargetUnavailableError);
      expect(sleeps).toEqual([]);
    } finally {
      await unreachable.close();
    }
  });

  describe('against a misbehaving server', () => {
    let rogue: Server;
    let rogueUrl: string;
    let answer: (response: import('node:http').ServerResponse) => void;

    beforeAll(async () => {
      rogue = createServer((_request, response) => answer(response));
      await new Promise<void>((resolve) => rogue.listen(0, '127.0.0.1', resolve));
      rogueUrl = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}/scim/v2`;
    });

    afterAll(async () => {
      rogue.closeAllConnections();
      await new Promise((resolve) => rogue.close(resolve));
    });

    it('throws instead of answering "not found" when a 200 is not a ListResponse', async () => {
      answer = (response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      const rogueTarget = target({ baseUrl: rogueUrl });
      await expect(rogueTarget.findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(ScimRequestError);
      await expect(rogueTarget.list('Users', ['userName'], 1, 10)).rejects.toBeInstanceOf(ScimRequestError);
    });

    it('throws when a ListResponse claims matches but carries none', async () => {
      answer = (response) => response.writeHead(200, { 'content-type': 'application/scim+json' }).end('{"totalResults":1,"Resources":[]}');
      await expect(target({ baseUrl: rogueUrl }).findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(ScimRequestError);
    });

    it('times out a request that gets no answer, retries it, then fails with status 0', async () => {
      answer = () => undefined;
      const slow = target({ baseUrl: rogueUrl, timeoutMs: 50, maxRetries: 1 });
      await expect(slow.findBy('Users', 'userName', 'x')).rejects.toMatchObject({ name: 'ScimRequestError', status: 0 });
      expect(sleeps).toEqual([50]);
    });
  });
});

async function listenThenClose(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
