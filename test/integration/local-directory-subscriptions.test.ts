import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startLocalDirectory, type LocalDirectory, type LocalDirectoryOptions } from '../../local/directory/local-directory.ts';

class FakeClock {
  constructor(private ms = Date.parse('2026-01-05T10:00:00Z')) {}
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
}

const MINUTE = 60_000;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

type Validation = 'echo' | 'encoded' | 'status500' | 'json' | 'silent';

/** A subscriber's endpoint on loopback: answers validation requests as told, records every notification POST. */
async function startWebhook() {
  const hook = {
    url: '',
    validation: 'echo' as Validation,
    /** Query strings and content types of the validation requests. */
    validations: [] as { rawQuery: string; token: string; contentType: string | undefined }[],
    /** Bodies of the notification POSTs, in arrival order. */
    posts: [] as { contentType: string | undefined; body: { value: any[] } }[],
    /** Statuses for the next notification POSTs (then 202); 0 = never answer. */
    statuses: [] as number[],
    held: [] as ServerResponse[],
    arrivals: [] as (() => void)[],
    /** Resolves at the next notification POST. */
    nextPost: () => new Promise<void>((resolve) => hook.arrivals.push(resolve)),
    notifications: () => hook.posts.flatMap((post) => post.body.value),
  };
  const server: Server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', 'http://webhook');
    const token = url.searchParams.get('validationToken');
    if (token !== null) {
      hook.validations.push({ rawQuery: url.search, token, contentType: request.headers['content-type'] });
      if (hook.validation === 'silent') return;
      if (hook.validation === 'status500') return void response.writeHead(500).end();
      const answer = hook.validation === 'encoded' ? encodeURIComponent(token) : token;
      const type = hook.validation === 'json' ? 'application/json' : 'text/plain; charset=utf-8';
      return void response.writeHead(200, { 'content-type': type }).end(answer);
    }
    hook.posts.push({ contentType: request.headers['content-type'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    hook.arrivals.splice(0).forEach((arrived) => arrived());
    const status = hook.statuses.shift() ?? 202;
    if (status === 0) hook.held.push(response);
    else response.writeHead(status).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify?job=42`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return hook;
}

async function start(options: LocalDirectoryOptions = {}) {
  const clock = (options.clock as FakeClock | undefined) ?? new FakeClock();
  const directory: LocalDirectory = await startLocalDirectory({
    seedUsers: 0,
    seedGroups: 0,
    ...options,
    clock,
    // A test sends with deliverNow, not on the timer, unless it says otherwise.
    notifications: { batchWindowMs: 3_600_000, ...options.notifications },
  });
  let stopped = false;
  const stop = async () => {
    if (!stopped) await directory.close();
    stopped = true;
  };
  closers.push(stop);
  const call = async (method: string, url: string, body?: unknown) => {
    const response = await fetch(`${directory.url}${url}`, {
      method,
      headers: { authorization: 'Bearer anything', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : undefined };
  };
  const inMinutes = (minutes: number) => new Date(clock.now().getTime() + minutes * MINUTE).toISOString();
  const subscribe = (notificationUrl: string, extra: Record<string, unknown> = {}) =>
    call('POST', '/subscriptions', {
      changeType: 'updated,deleted',
      notificationUrl,
      resource: '/users',
      expirationDateTime: inMinutes(60),
      clientState: 'secret-state',
      ...extra,
    });
  const createUser = async (name: string) => {
    const reply = await call('POST', '/users', { displayName: name, userPrincipalName: `${name.toLowerCase()}@contoso.example` });
    expect(reply.status).toBe(201);
    return reply.json.id as string;
  };
  const createGroup = async (name: string, groupTypes: string[] = []) => {
    const reply = await call('POST', '/groups', { displayName: name, groupTypes });
    expect(reply.status).toBe(201);
    return reply.json.id as string;
  };
  return { directory, stop, clock, call, subscribe, inMinutes, createUser, createGroup };
}

/** A subscription as listed: its entity without `@odata.context`. */
const listed = ({ '@odata.context': _, ...subscription }: Record<string, unknown>) => subscription;

/** What a notification says, without its own id and the subscription's fields. */
const brief = (notification: any) => `${notification.changeType} ${notification.resource}`;

describe('local directory: subscriptions', () => {
  it('validates the notification URL with a decoded token, then answers 201 with Graph subscription JSON', async () => {
    const hook = await startWebhook();
    const { call, subscribe, inMinutes, directory } = await start();
    const expirationDateTime = inMinutes(60);
    const created = await subscribe(hook.url, { expirationDateTime, lifecycleNotificationUrl: hook.url });

    expect(created.status).toBe(201);
    expect(Object.keys(created.json).sort()).toEqual(
      [
        '@odata.context', 'id', 'resource', 'applicationId', 'changeType', 'clientState', 'notificationUrl',
        'notificationQueryOptions', 'lifecycleNotificationUrl', 'expirationDateTime', 'creatorId', 'includeResourceData',
        'latestSupportedTlsVersion', 'encryptionCertificate', 'encryptionCertificateId', 'notificationUrlAppId',
      ].sort(),
    );
    expect(created.json).toMatchObject({
      '@odata.context': `${directory.url}/$metadata#subscriptions/$entity`,
      resource: '/users',
      changeType: 'updated,deleted',
      clientState: 'secret-state',
      notificationUrl: hook.url,
      lifecycleNotificationUrl: hook.url,
      expirationDateTime,
      includeResourceData: false,
      latestSupportedTlsVersion: 'v1_2',
    });
    // Both URLs were validated; the token travels encoded and is compared decoded.
    expect(hook.validations).toHaveLength(2);
    for (const validation of hook.validations) {
      expect(validation.contentType).toMatch(/^text\/plain/);
      expect(validation.token).toMatch(/^Validation: .+ /);
      expect(validation.rawQuery).toMatch(/^\?job=42&validationToken=[^ :]+$/);
    }

    const id = created.json.id;
    const list = await call('GET', '/subscriptions');
    expect(list.json['@odata.context']).toBe(`${directory.url}/$metadata#subscriptions`);
    expect(list.json.value).toEqual([listed(created.json)]);
    expect((await call('GET', `/subscriptions/${id}`)).json).toEqual(created.json);
    expect(directory.subscriptions().map((subscription) => subscription.id)).toEqual([id]);
  });

  it.each<[Validation, string]>([
    ['encoded', 'Response must exactly match validationToken query parameter.'],
    ['json', 'Response must exactly match validationToken query parameter.'],
    ['status500', 'Notification endpoint must respond with 200 OK to validation request.'],
    ['silent', 'Notification endpoint must respond with 200 OK to validation request.'],
  ])('refuses the subscription when the endpoint answers the validation %s', async (validation, reason) => {
    const hook = await startWebhook();
    hook.validation = validation;
    const { call, subscribe } = await start({ notifications: { validationTimeoutMs: 300 } });

    const refused = await subscribe(hook.url);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ code: 'InvalidRequest', message: `Subscription validation request failed. ${reason}` });
    expect(hook.validations).toHaveLength(1);
    expect((await call('GET', '/subscriptions')).json.value).toEqual([]);
  });

  it('refuses the subscription when only the lifecycle URL fails validation', async () => {
    const hook = await startWebhook();
    const failing = await startWebhook();
    failing.validation = 'status500';
    const { call, subscribe } = await start();
    const refused = await subscribe(hook.url, { lifecycleNotificationUrl: failing.url });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(/^Subscription validation request failed\./);
    expect((await call('GET', '/subscriptions')).json.value).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['created', { changeType: 'created,updated' }, /'created' is not supported/],
    ['an unknown change type', { changeType: 'updated,moved' }, /'moved' is not a valid changeType/],
    ['a mail resource', { resource: "me/mailFolders('Inbox')/messages" }, /Resource .* is not supported/],
    ['group members', { resource: '/groups/0b5f/members' }, /Resource .* is not supported/],
    ['a past expiration', { expirationDateTime: '2026-01-05T09:59:00Z' }, /must be in the future/],
    ['an expiration beyond 41,760 minutes', { expirationDateTime: new Date(Date.parse('2026-01-05T10:00:00Z') + 41_761 * MINUTE).toISOString() }, /can only be 41760 minutes in the future/],
    ['an expiration that is no date', { expirationDateTime: 'tomorrow' }, /expirationDateTime/],
    ['a clientState of 129 characters', { clientState: 'x'.repeat(129) }, /clientState/],
    ['resource data', { includeResourceData: true }, /includeResourceData/],
    ['an ftp notification URL', { notificationUrl: 'ftp://127.0.0.1/hook' }, /must use https/],
    ['a relative notification URL', { notificationUrl: '/hook' }, /not an absolute URL/],
    ['an unknown property', { notificationContentType: 'application/json' }, /Property 'notificationContentType' does not exist on type 'microsoft.graph.subscription'/],
    ['no resource', { resource: undefined }, /'resource'/],
  ])('answers 400 for %s, before any validation request', async (_, extra, message) => {
    const hook = await startWebhook();
    const { call, subscribe } = await start();
    const refused = await subscribe(hook.url, extra);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toMatch(message);
    expect(refused.json.error.innerError['request-id']).toBeTypeOf('string');
    expect(hook.validations).toHaveLength(0);
    expect((await call('GET', '/subscriptions')).json.value).toEqual([]);
  });

  it('accepts every supported resource form, and exactly 41,760 minutes', async () => {
    const hook = await startWebhook();
    const { subscribe, inMinutes } = await start();
    for (const resource of ['/users', 'users', '/groups', 'groups', '/users/0b5f', '/groups/0b5f']) {
      expect((await subscribe(hook.url, { resource, expirationDateTime: inMinutes(41_760) })).status).toBe(201);
    }
  });

  it('allows 100 subscriptions per resource type, then answers 403', async () => {
    const hook = await startWebhook();
    const { call, subscribe } = await start();
    for (let i = 0; i < 100; i++) expect((await subscribe(hook.url)).status).toBe(201);
    const refused = await subscribe(hook.url, { resource: 'users' });
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toMatch(/100 subscriptions .* 'users'/);
    expect((await call('GET', '/subscriptions')).json.value).toHaveLength(100);
    // The groups quota is its own.
    expect((await subscribe(hook.url, { resource: '/groups' })).status).toBe(201);
  });
});

describe('local directory: change notifications', () => {
  it('notifies creation, update, soft and hard deletion and membership changes with Graph change types', async () => {
    const hook = await startWebhook();
    const { directory, call, subscribe, createUser, createGroup } = await start();
    const users = (await subscribe(hook.url)).json;
    const groups = (await subscribe(hook.url, { resource: '/groups', clientState: 'group-state' })).json;
    const delivered = async () => {
      const before = hook.notifications().length;
      await directory.deliverNow();
      return hook.notifications().slice(before);
    };

    const adele = await createUser('Adele');
    const [created] = await delivered();
    expect(created).toEqual({
      id: expect.any(String),
      subscriptionId: users.id,
      subscriptionExpirationDateTime: users.expirationDateTime,
      clientState: 'secret-state',
      changeType: 'updated',
      resource: `Users/${adele}`,
      tenantId: LOCAL_TENANT_ID,
      resourceData: {
        '@odata.type': '#Microsoft.Graph.User',
        '@odata.id': `Users/${adele}`,
        id: adele,
        organizationId: LOCAL_TENANT_ID,
        sequenceNumber: expect.any(Number),
      },
    });
    expect(directory.tenantId).toBe(LOCAL_TENANT_ID);

    expect((await call('PATCH', `/users/${adele}`, { jobTitle: 'Engineer' })).status).toBe(204);
    expect((await delivered()).map(brief)).toEqual([`updated Users/${adele}`]);

    const team = await createGroup('Team');
    const [groupCreated] = await delivered();
    expect(groupCreated).toMatchObject({
      subscriptionId: groups.id,
      clientState: 'group-state',
      changeType: 'updated',
      resource: `Groups/${team}`,
      resourceData: { '@odata.type': '#Microsoft.Graph.Group', '@odata.id': `Groups/${team}`, id: team },
    });

    await call('POST', `/groups/${team}/members/$ref`, { '@odata.id': `${directory.url}/directoryObjects/${adele}` });
    expect((await delivered()).map(brief)).toEqual([`updated Groups/${team}`]);

    // A soft delete is an update (of the user, and of the group it leaves); only the purge is a deletion.
    expect((await call('DELETE', `/users/${adele}`)).status).toBe(204);
    expect((await delivered()).map(brief).sort()).toEqual([`updated Groups/${team}`, `updated Users/${adele}`]);
    // A restore is an update too (the user rejoins the group).
    expect((await call('POST', `/directory/deletedItems/${adele}/restore`)).status).toBe(200);
    expect((await delivered()).map(brief).sort()).toEqual([`updated Groups/${team}`, `updated Users/${adele}`]);
    expect((await call('DELETE', `/users/${adele}`)).status).toBe(204);
    await delivered();
    expect((await call('DELETE', `/directory/deletedItems/${adele}`)).status).toBe(204);
    expect((await delivered()).map(brief)).toEqual([`deleted Users/${adele}`]);

    // A security group is deleted for good at once.
    expect((await call('DELETE', `/groups/${team}`)).status).toBe(204);
    expect((await delivered()).map(brief)).toEqual([`deleted Groups/${team}`]);
    expect(hook.posts.every((post) => post.contentType?.startsWith('application/json'))).toBe(true);
  });

  it('sends only the change types and the objects a subscription names', async () => {
    const hook = await startWebhook();
    const { directory, call, subscribe, createUser, createGroup } = await start();
    const deletions = (await subscribe(hook.url, { changeType: 'deleted', resource: 'groups' })).json;
    const alice = await createUser('Alice');
    const bob = await createUser('Bob');
    const aliceOnly = (await subscribe(hook.url, { resource: `/users/${alice}` })).json;
    const doomed = await createGroup('Doomed');
    await call('PATCH', `/users/${alice}`, { jobTitle: 'Lead' });
    await call('PATCH', `/users/${bob}`, { jobTitle: 'Lead' });
    await call('DELETE', `/groups/${doomed}`);
    await directory.deliverNow();
    expect(hook.notifications().map((n) => `${n.subscriptionId === deletions.id ? 'deletions' : n.subscriptionId === aliceOnly.id ? 'alice' : '?'} ${brief(n)}`)).toEqual([
      `alice updated Users/${alice}`,
      `deletions deleted Groups/${doomed}`,
    ]);
  });

  it('batches per notification URL, at most maxBatchSize a POST, and once per object while unsent', async () => {
    const hook = await startWebhook();
    const other = await startWebhook();
    const { directory, call, subscribe, createUser } = await start({ notifications: { maxBatchSize: 2 } });
    await subscribe(hook.url);
    await subscribe(other.url);
    const ids = [];
    for (const name of ['Ann', 'Ben', 'Cid', 'Dee', 'Eve']) ids.push(await createUser(name));
    // A second change of an object whose notification is still unsent adds nothing.
    await call('PATCH', `/users/${ids[0]}`, { jobTitle: 'Engineer' });
    await directory.deliverNow();
    for (const endpoint of [hook, other]) {
      expect(endpoint.posts.map((post) => post.body.value.length)).toEqual([2, 2, 1]);
      expect(endpoint.notifications().map((n) => n.resourceData.id)).toEqual(ids);
    }
  });

  it('puts notifications of several subscriptions on one URL into one POST', async () => {
    const hook = await startWebhook();
    const { directory, subscribe, createUser } = await start();
    const first = (await subscribe(hook.url)).json;
    const second = (await subscribe(hook.url, { clientState: 'second' })).json;
    await createUser('Ann');
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(1);
    expect(hook.posts[0]!.body.value.map((n) => [n.subscriptionId, n.clientState])).toEqual([
      [first.id, 'secret-state'],
      [second.id, 'second'],
    ]);
  });

  it('sends after the batch window on its own, and never holds up the directory while the endpoint is slow', async () => {
    const hook = await startWebhook();
    const { directory, call, subscribe, createUser } = await start({ notifications: { batchWindowMs: 20 } });
    await subscribe(hook.url);
    hook.statuses.push(0); // the endpoint never answers this POST
    const arrived = hook.nextPost();
    const ann = await createUser('Ann');
    await arrived;
    // The directory answers while the notification POST is still unanswered.
    expect((await call('PATCH', `/users/${ann}`, { jobTitle: 'Engineer' })).status).toBe(204);
    expect((await call('GET', `/users/${ann}`)).json.jobTitle).toBe('Engineer');
    expect(hook.notifications().map((n) => n.resourceData.id)).toEqual([ann]);
    expect(directory.pendingNotifications()).toBeGreaterThan(0);
  });

  it('retries a failed POST after the backoff until it succeeds, and sends it only once after that', async () => {
    const hook = await startWebhook();
    const { directory, clock, subscribe, createUser } = await start({ notifications: { retryDelayMs: 10_000, responseTimeoutMs: 200 } });
    await subscribe(hook.url);
    hook.statuses.push(500, 0); // a 500, then no answer within the timeout, then 202
    await createUser('Ann');

    await directory.deliverNow();
    expect(hook.posts).toHaveLength(1);
    // Not due again before the backoff has passed.
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(1);

    clock.advance(10_000);
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(2);
    clock.advance(19_999); // the second retry waits twice as long
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(2);
    clock.advance(1);
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(3);
    expect(directory.pendingNotifications()).toBe(0);

    clock.advance(60 * MINUTE);
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(3);
    const ids = hook.posts.map((post) => post.body.value[0].id);
    expect(new Set(ids).size).toBe(1); // one notification, sent three times
  });

  it('drops notifications still failing when the retry window has passed', async () => {
    const hook = await startWebhook();
    const { directory, clock, subscribe, createUser } = await start({
      notifications: { retryWindowMs: 60_000, retryDelayMs: 10_000, maxRetryDelayMs: 10_000 },
    });
    await subscribe(hook.url);
    hook.statuses.push(...Array<number>(10).fill(503));
    await createUser('Ann');
    for (let i = 0; i < 6; i++) {
      await directory.deliverNow();
      clock.advance(10_000);
    }
    expect(hook.posts).toHaveLength(6);
    expect(directory.pendingNotifications()).toBe(1);
    // 60 s after the change: the window is over, the notification is dropped unsent.
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(6);
    expect(directory.pendingNotifications()).toBe(0);
  });

  it('sends nothing for an expired subscription and removes it', async () => {
    const hook = await startWebhook();
    const { directory, clock, call, subscribe, createUser } = await start();
    const subscription = (await subscribe(hook.url)).json;
    clock.advance(60 * MINUTE);
    await createUser('Ann');
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(0);
    expect((await call('GET', '/subscriptions')).json.value).toEqual([]);
    expect((await call('GET', `/subscriptions/${subscription.id}`)).status).toBe(404);
  });

  it('drops queued notifications of a subscription deleted before they were sent', async () => {
    const hook = await startWebhook();
    const { directory, call, subscribe, createUser } = await start();
    const subscription = (await subscribe(hook.url)).json;
    await createUser('Ann');
    expect((await call('DELETE', `/subscriptions/${subscription.id}`)).status).toBe(204);
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(0);
    expect(directory.pendingNotifications()).toBe(0);
  });
});

describe('local directory: subscription renewal, deletion and lifecycle', () => {
  it('renews with PATCH, validates a new notification URL, and keeps notifying', async () => {
    const hook = await startWebhook();
    const moved = await startWebhook();
    const { directory, clock, call, subscribe, inMinutes, createUser } = await start();
    const subscription = (await subscribe(hook.url)).json;

    const renewedUntil = inMinutes(120);
    const renewed = await call('PATCH', `/subscriptions/${subscription.id}`, { expirationDateTime: renewedUntil });
    expect(renewed.status).toBe(200);
    expect(renewed.json).toEqual({ ...subscription, expirationDateTime: renewedUntil });

    expect((await call('PATCH', `/subscriptions/${subscription.id}`, { expirationDateTime: inMinutes(41_761) })).status).toBe(400);
    expect((await call('PATCH', `/subscriptions/${subscription.id}`, { resource: '/groups' })).json.error.message).toMatch(/Property 'resource' does not exist/);
    moved.validation = 'encoded';
    expect((await call('PATCH', `/subscriptions/${subscription.id}`, { notificationUrl: moved.url })).status).toBe(400);
    expect((await call('GET', `/subscriptions/${subscription.id}`)).json).toEqual(renewed.json);

    moved.validation = 'echo';
    const relocated = await call('PATCH', `/subscriptions/${subscription.id}`, { notificationUrl: moved.url });
    expect(relocated.status).toBe(200);
    expect(relocated.json.notificationUrl).toBe(moved.url);
    expect(moved.validations).toHaveLength(2);

    clock.advance(90 * MINUTE); // past the first expiration, within the renewed one
    const ann = await createUser('Ann');
    await directory.deliverNow();
    expect(hook.posts).toHaveLength(0);
    expect(moved.notifications().map((n) => [n.resourceData.id, n.subscriptionExpirationDateTime])).toEqual([[ann, renewedUntil]]);
  });

  it('deletes with 204, then answers 404 for the id everywhere', async () => {
    const hook = await startWebhook();
    const { call, subscribe, inMinutes } = await start();
    const subscription = (await subscribe(hook.url)).json;
    expect((await call('DELETE', `/subscriptions/${subscription.id}`)).status).toBe(204);
    const attempts: [string, string, unknown?][] = [
      ['GET', ''],
      ['DELETE', ''],
      ['PATCH', '', { expirationDateTime: inMinutes(30) }],
      ['POST', '/reauthorize'],
    ];
    for (const [method, suffix, body] of attempts) {
      const reply = await call(method, `/subscriptions/${subscription.id}${suffix}`, body);
      expect(reply.status).toBe(404);
      expect(reply.json.error.code).toBe('ResourceNotFound');
    }
    expect((await call('GET', '/subscriptions')).json.value).toEqual([]);
  });

  it('sends a reauthorizationRequired lifecycle notification when asked, and accepts /reauthorize', async () => {
    const hook = await startWebhook();
    const lifecycle = await startWebhook();
    const { directory, call, subscribe } = await start();
    const subscription = (await subscribe(hook.url, { lifecycleNotificationUrl: lifecycle.url })).json;
    const plain = (await subscribe(hook.url)).json;

    directory.requestReauthorization(subscription.id);
    await directory.deliverNow();
    expect(lifecycle.notifications()).toEqual([
      {
        subscriptionId: subscription.id,
        subscriptionExpirationDateTime: subscription.expirationDateTime,
        tenantId: LOCAL_TENANT_ID,
        clientState: 'secret-state',
        lifecycleEvent: 'reauthorizationRequired',
      },
    ]);
    expect(hook.posts).toHaveLength(0);
    expect(() => directory.requestReauthorization(plain.id)).toThrow(/no lifecycleNotificationUrl/);
    expect(() => directory.requestReauthorization('unknown')).toThrow(/was not found/);
    expect((await call('POST', `/subscriptions/${subscription.id}/reauthorize`)).status).toBe(204);
  });

  it('keeps subscriptions in the data file across a restart', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'directory-subscriptions-'));
    closers.push(() => rm(folder, { recursive: true, force: true }));
    const dataFile = path.join(folder, 'directory.json');
    const hook = await startWebhook();
    const clock = new FakeClock();
    const first = await start({ dataFile, clock });
    const subscription = (await first.subscribe(hook.url)).json;
    await first.stop();

    const second = await start({ dataFile, clock });
    expect((await second.call('GET', '/subscriptions')).json.value).toEqual([listed(subscription)]);
    const ann = await second.createUser('Ann');
    await second.directory.deliverNow();
    expect(hook.notifications().map((n) => [n.subscriptionId, brief(n)])).toEqual([[subscription.id, `updated Users/${ann}`]]);
  });
});
