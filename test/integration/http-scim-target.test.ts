import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpScimTarget, quoteFilterValue, type HttpScimTargetOptions } from '../../functions/adapters/scim/http-scim-target.ts';
import { ScimRequestError, TargetUnavailableError } from '../../functions/ports/scim-target.ts';
import { ThrottledError } from '../../functions/ports/throttled-error.ts';
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

  it('gets a user by id as the target holds it, and null for an id it does not have', async () => {
    const created = await target.create('Users', newUser('gina@contoso.com', { emails: [{ type: 'work', value: 'gina@contoso.com', primary: true }] }));
    const read = await target.get('Users', created.id);
    expect(read).toMatchObject({ id: created.id, userName: 'gina@contoso.com', active: true, emails: [expect.objectContaining({ type: 'work', value: 'gina@contoso.com' })] });
    await target.delete('Users', created.id);
    expect(await target.get('Users', created.id)).toBeNull();
    expect(await target.get('Users', 'no-such-id')).toBeNull();
  });

  it('gets a group without its members', async () => {
    const member = await target.create('Users', newUser('hank@contoso.com'));
    const group = await target.create('Groups', { schemas: [groupSchema], displayName: 'Support', members: [{ value: member.id }] });
    const read = await target.get('Groups', group.id);
    expect(read).toMatchObject({ id: group.id, displayName: 'Support' });
    expect(read?.members ?? []).toEqual([]);
    expect(await target.get('Groups', 'no-such-id')).toBeNull();
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
  let agent: Agent;
  let sleeps: number[];
  const now = new Date('2026-03-01T10:00:00.000Z');

  const target = (options: Partial<HttpScimTargetOptions> = {}): HttpScimTarget =>
    new HttpScimTarget({
      baseUrl: service.url,
      token,
      agent,
      sleep: async (ms) => void sleeps.push(ms),
      clock: { now: () => now },
      random: () => 0.5,
      baseDelayMs: 100,
      ...options,
    });

  beforeAll(async () => {
    service = await startLocalScimService({ token, recordRequests: true });
    agent = new Agent({ keepAlive: true, maxSockets: 4, timeout: 10_000 });
  });

  afterAll(async () => {
    agent.destroy();
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
    // Then it waits its turn at the pace the 429 halved to (5/s): on this clock, time passes only in the pacer's waits.
    expect(sleeps).toEqual([2000, 2000, 200]);
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
    await expect(target({ maxAttempts: 4 }).list('Users', ['userName'], 1, 10)).resolves.toMatchObject({ totalResults: expect.any(Number) });
    // random 0.5 × 100 ms × 2^attempt
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('ends a 503 storm with ThrottledError after its attempts: the run pauses, the object is not escrowed', async () => {
    service.failNext({ status: 503, times: 10 });
    const failing = target({ maxAttempts: 3 }).findBy('Users', 'userName', 'x');
    await expect(failing).rejects.toBeInstanceOf(ThrottledError);
    // random 0.5: the waits were 50 and 100 ms; the estimate is the next step's ceiling, 100 ms × 2^2.
    await expect(failing).rejects.toMatchObject({
      system: 'target',
      retryAt: new Date(now.getTime() + 400),
      message: 'GET /Users answered 503: Injected fault. (after 3 attempts)',
    });
    // Each 503 also halved the pace (to 2.5/s): the last attempt waited its turn, 400 ms after the one before.
    expect(sleeps).toEqual([50, 100, 400]);
    expect(service.requests()).toHaveLength(3);
  });

  it('ends a 429 with Retry-After 3600 at once with ThrottledError, retryAt one hour on, and holds the job back', async () => {
    service.failNext({ status: 429, retryAfter: '3600' });
    const shared = target();
    const started = performance.now();
    const failure = await shared.delete('Users', 'any').catch((error: unknown) => error);
    expect(performance.now() - started).toBeLessThan(500);
    expect(failure).toBeInstanceOf(ThrottledError);
    expect(failure).toMatchObject({ system: 'target', retryAt: new Date(now.getTime() + 3_600_000) });
    expect(sleeps).toEqual([]);
    expect(service.requests()).toHaveLength(1);
    // Every later request of the same target is held back, and fails unsent rather than wait an hour in-process.
    await expect(shared.findBy('Users', 'userName', 'x')).rejects.toMatchObject({ name: 'ThrottledError', retryAt: new Date(now.getTime() + 3_600_000) });
    expect(service.requests()).toHaveLength(1);
  });

  it('ends a 503 whose Retry-After is beyond what a request may wait with ThrottledError at that time', async () => {
    service.failNext({ status: 503, retryAfter: new Date(now.getTime() + 120_000).toUTCString() });
    await expect(target({ maxWaitMs: 60_000 }).list('Users', ['userName'], 1, 10)).rejects.toMatchObject({
      name: 'ThrottledError',
      retryAt: new Date(now.getTime() + 120_000),
    });
    expect(sleeps).toEqual([]);
  });

  it.each([400, 404, 409, 412, 501])('refuses the object with ScimRequestError on %i, without retrying', async (status) => {
    service.failNext({ status, scimType: status === 409 ? 'uniqueness' : 'invalidValue', detail: 'No.' });
    const failure = target().patch('Users', 'any', [{ op: 'replace', path: 'title', value: 'x' }]);
    await expect(failure).rejects.toBeInstanceOf(ScimRequestError);
    await expect(failure).rejects.toMatchObject({ status, message: `PATCH /Users/any answered ${status}: No.` });
    expect(service.requests()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('never turns a failed list or find into an empty answer', async () => {
    service.failNext({ status: 500, times: 2 });
    await expect(target({ maxAttempts: 1 }).list('Users', ['userName'], 1, 10)).rejects.toBeInstanceOf(ThrottledError);
    await expect(target({ maxAttempts: 1 }).findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(ThrottledError);
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

  it('gets a group asking for excludedAttributes=members, and an id that needs encoding as one path segment', async () => {
    await target().get('Groups', 'g/1 2');
    await target().get('Users', 'u-1');
    const [group, user] = service.requests();
    expect(group).toMatchObject({ method: 'GET', path: '/Groups/g%2F1%202?excludedAttributes=members' });
    expect(user).toMatchObject({ method: 'GET', path: '/Users/u-1' });
  });

  it('retries a get through the same policy as every other request', async () => {
    service.failNext({ status: 503 });
    expect(await target().get('Users', 'missing')).toBeNull();
    expect(sleeps).toEqual([50]);
    service.failNext({ status: 429, retryAfter: '3600' });
    await expect(target().get('Users', 'missing')).rejects.toBeInstanceOf(ThrottledError);
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

  it('ends every request waiting for the pace with ThrottledError when a Retry-After is longer than a request may wait', async () => {
    service.failNext({ status: 429, retryAfter: '3600', times: 1 });
    // One request a second: the others wait in the pacer while the first is answered 429. A wait ends once the
    // first request has its answer, so that the answer always comes while they wait; what they were asked to wait
    // is recorded.
    let firstAnswered: Promise<unknown> = new Promise(() => {});
    const paced = target({
      maxRequestsPerSecond: 1,
      clock: { now: () => new Date() },
      sleep: (ms) => {
        sleeps.push(ms);
        return firstAnswered.then(() => undefined);
      },
    });
    const requests = Array.from({ length: 10 }, (_, i) => paced.findBy('Users', 'userName', `waiting${i}@contoso.com`));
    firstAnswered = requests[0]!.catch(() => undefined);
    const results = await Promise.allSettled(requests);
    expect(results.map((result) => result.status === 'rejected' && result.reason instanceof ThrottledError)).toEqual(Array(10).fill(true));
    expect(sleeps.some((ms) => ms > 30_000)).toBe(false);
  });

  it('asks without attributes once the target refuses them, and from then on only so', async () => {
    const group = await target().create('Groups', { schemas: [groupSchema], displayName: 'Bare' });
    service.clearRequests();
    const projected = (request: { path: string }) => /[?&](excludedAttributes|attributes)=/.test(request.path);
    service.failNext({ status: 400, times: 1_000, detail: 'excludedAttributes is not supported', match: projected });
    const learning = target();
    await expect(learning.get('Groups', group.id)).resolves.toMatchObject({ id: group.id, displayName: 'Bare' });
    await expect(learning.findBy('Groups', 'displayName', 'Bare')).resolves.toMatchObject({ id: group.id });
    await expect(learning.groupMembers(group.id)).resolves.toEqual([]);
    expect(learning.traits()).toEqual({ projection: false });
    expect(service.requests().map((request) => `${request.status} ${request.path.split('?')[0]}`)).toEqual([
      `400 /Groups/${group.id}`,
      `200 /Groups/${group.id}`,
      '200 /Groups',
      `200 /Groups/${group.id}`,
    ]);
    service.clearFaults();
  });

  it("removes members in Entra's form once the target refuses the filter form, and from then on only in that form", async () => {
    const users = await Promise.all(['rm1', 'rm2', 'rm3'].map((name) => target().create('Users', newUser(`${name}@contoso.com`))));
    const group = await target().create('Groups', { schemas: [groupSchema], displayName: 'Removals', members: users.map((user) => ({ value: user.id })) });
    service.clearRequests();
    const filterForm = (request: { method: string; body: unknown }) =>
      request.method === 'PATCH' && JSON.stringify(request.body).includes('members[value eq');
    service.failNext({ status: 400, times: 1_000, scimType: 'invalidPath', match: filterForm });
    const learning = target();
    const removal = (user: { id: string }) => ({ op: 'remove' as const, path: `members[value eq ${quoteFilterValue(user.id)}]` });
    await learning.patch('Groups', group.id, [removal(users[0]!), removal(users[1]!)]);
    await learning.patch('Groups', group.id, [removal(users[2]!)]);
    expect(learning.traits()).toEqual({ memberRemoval: 'valueList' });
    expect(await learning.groupMembers(group.id)).toEqual([]);
    const patches = service.requests().filter((request) => request.method === 'PATCH');
    expect(patches.map((request) => request.status)).toEqual([400, 204, 204]);
    expect(patches.map((request) => (request.body as { Operations: unknown[] }).Operations)).toEqual([
      [removal(users[0]!), removal(users[1]!)],
      [{ op: 'remove', path: 'members', value: [{ value: users[0]!.id }, { value: users[1]!.id }] }],
      [{ op: 'remove', path: 'members', value: [{ value: users[2]!.id }] }],
    ]);
    service.clearFaults();
  });

  it('keeps to the filter form when the target takes it, and when it refuses both forms', async () => {
    const user = await target().create('Users', newUser('keep@contoso.com'));
    const group = await target().create('Groups', { schemas: [groupSchema], displayName: 'Keeps', members: [{ value: user.id }] });
    const taking = target();
    await taking.patch('Groups', group.id, [{ op: 'remove', path: `members[value eq ${quoteFilterValue(user.id)}]` }]);
    expect(taking.traits()).toEqual({ memberRemoval: 'pathFilter' });

    service.failNext({ status: 400, times: 2, detail: 'Too many operations' });
    const refusing = target();
    await expect(refusing.patch('Groups', group.id, [{ op: 'remove', path: `members[value eq ${quoteFilterValue(user.id)}]` }])).rejects.toMatchObject({ status: 400 });
    expect(refusing.traits()).toEqual({});
  });

  describe('against a misbehaving server', () => {
    let rogue: Server;
    let rogueUrl: string;
    let answer: (response: import('node:http').ServerResponse, request: import('node:http').IncomingMessage) => void;
    let received = 0;

    beforeEach(() => {
      received = 0;
    });

    beforeAll(async () => {
      rogue = createServer((request, response) => {
        received += 1;
        answer(response, request);
      });
      await new Promise<void>((resolve) => rogue.listen(0, '127.0.0.1', resolve));
      rogueUrl = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}/scim/v2`;
    });

    afterAll(async () => {
      rogue.closeAllConnections();
      await new Promise((resolve) => rogue.close(resolve));
    });

    it('sends a User-Agent with every request', async () => {
      const agents: (string | undefined)[] = [];
      answer = (response, request) => {
        agents.push(request.headers['user-agent']);
        response.writeHead(200, { 'content-type': 'application/scim+json' }).end('{"totalResults":0,"Resources":[]}');
      };
      const each = target({ baseUrl: rogueUrl });
      await each.findBy('Users', 'userName', 'x');
      await each.patch('Groups', 'g-1', [{ op: 'add', path: 'members', value: [{ value: 'u-1' }] }]);
      expect(agents).toEqual([expect.stringMatching(/^graph-sync-jobs/), expect.stringMatching(/^graph-sync-jobs/)]);
    });

    it('pages by cursor: reads the next cursor of a cursor answer, and tells an index answer (the cursor ignored)', async () => {
      const paths: string[] = [];
      let body = '';
      answer = (response, request) => {
        paths.push(request.url ?? '');
        response.writeHead(200, { 'content-type': 'application/scim+json' }).end(body);
      };
      const cursorTarget = target({ baseUrl: rogueUrl });
      body = JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], itemsPerPage: 1, nextCursor: 'VGhlIG5leHQ=', Resources: [{ id: 'u-1' }] });
      await expect(cursorTarget.listByCursor('Users', ['userName'], '', 100)).resolves.toEqual({
        resources: [{ id: 'u-1' }],
        nextCursor: 'VGhlIG5leHQ=',
        totalResults: null,
        ignoredCursor: false,
      });
      body = JSON.stringify({ totalResults: 3, itemsPerPage: 1, startIndex: 1, Resources: [{ id: 'u-1' }] });
      await expect(cursorTarget.listByCursor('Users', ['userName'], 'VGhlIG5leHQ=', 100)).resolves.toMatchObject({ nextCursor: null, totalResults: 3, ignoredCursor: true });
      expect(paths.map((path) => Object.fromEntries(new URL(`http://x${path}`).searchParams))).toEqual([
        { cursor: '', count: '100', attributes: 'userName' },
        { cursor: 'VGhlIG5leHQ=', count: '100', attributes: 'userName' },
      ]);
      body = '{"itemsPerPage":"many"}';
      await expect(cursorTarget.listByCursor('Users', [], '', 100)).rejects.toBeInstanceOf(ScimRequestError);
    });

    it('throws instead of answering "not found" when a 200 is not a ListResponse', async () => {
      answer = (response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      const rogueTarget = target({ baseUrl: rogueUrl });
      await expect(rogueTarget.findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(ScimRequestError);
      await expect(rogueTarget.list('Users', ['userName'], 1, 10)).rejects.toBeInstanceOf(ScimRequestError);
    });

    it('refuses a get answered 200 without a resource instead of returning it', async () => {
      answer = (response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
      await expect(target({ baseUrl: rogueUrl }).get('Users', 'u-1')).rejects.toMatchObject({ name: 'ScimRequestError', status: 200 });
    });

    it('throws when a ListResponse claims matches but carries none', async () => {
      answer = (response) => response.writeHead(200, { 'content-type': 'application/scim+json' }).end('{"totalResults":1,"Resources":[]}');
      await expect(target({ baseUrl: rogueUrl }).findBy('Users', 'userName', 'x')).rejects.toBeInstanceOf(ScimRequestError);
    });

    it('times out a request that gets no answer, retries it, then ends with ThrottledError', async () => {
      answer = () => undefined;
      const slow = target({ baseUrl: rogueUrl, timeoutMs: 50, maxAttempts: 2 });
      await expect(slow.findBy('Users', 'userName', 'x')).rejects.toMatchObject({
        name: 'ThrottledError',
        system: 'target',
        message: 'GET /Users: the request timed out (after 2 attempts)',
      });
      expect(sleeps).toEqual([50]);
      expect(received).toBe(2);
    });

    it('does not send a POST again whose answer was lost: the target may have created the account', async () => {
      answer = () => undefined;
      const slow = target({ baseUrl: rogueUrl, timeoutMs: 50 });
      const failure = slow.create('Users', newUser('lost@contoso.com'));
      await expect(failure).rejects.toBeInstanceOf(ThrottledError);
      await expect(failure).rejects.toThrow(/POST \/Users: the request timed out; not sent again/);
      expect(received).toBe(1);
      expect(sleeps).toEqual([]);
    });

    it('closes its connections once the requests in flight have their answers, not before', async () => {
      let release = () => {};
      let arrived = () => {};
      const request = new Promise<void>((resolve) => (arrived = resolve));
      answer = (response) => {
        release = () => response.writeHead(200, { 'content-type': 'application/scim+json' }).end('{"totalResults":0,"Resources":[]}');
        arrived();
      };
      // One attempt: a request cut off by the close fails at once instead of being sent again.
      const own = new HttpScimTarget({ baseUrl: rogueUrl, token, sleep: async () => undefined, maxAttempts: 1 });
      const found = own.findBy('Users', 'userName', 'x');
      await request;
      const closed = own.close();
      release();
      await expect(found).resolves.toBeNull();
      await closed;
    });

    it('retries a GET whose connection was reset, then returns the answer', async () => {
      let resets = 1;
      answer = (response) => {
        if (resets-- > 0) {
          response.socket?.destroy();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/scim+json' }).end('{"totalResults":0,"Resources":[]}');
      };
      await expect(target({ baseUrl: rogueUrl }).findBy('Users', 'userName', 'x')).resolves.toBeNull();
      expect(received).toBe(2);
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
