import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { errorSchema, group, groupSchema, patchOp, patchSchema, query, scimRequests, userSchema, type Json, type ScimAnswer } from '../support/scim-requests.ts';

const token = 'local-scim-test-token';
const { call, create } = scimRequests(token);
const enterpriseSchema = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const fixedNow = new Date('2026-03-01T10:00:00.000Z');
const clock = { now: () => fixedNow };

const user = (userName: string, extra: Json = {}): Json => ({ schemas: [userSchema], userName, active: true, ...extra });

describe('local SCIM service', () => {
  let service: LocalScimService;

  beforeEach(async () => {
    service = await startLocalScimService({ token, clock, maxPageSize: 50, recordRequests: true });
  });

  afterEach(async () => {
    await service.close();
  });

  describe('Users', () => {
    it('creates a user with 201, Location, meta and the enterprise extension', async () => {
      const answer = await call(service, 'POST', '/Users', {
        schemas: [userSchema, enterpriseSchema],
        userName: 'alice@contoso.com',
        externalId: 'alice',
        active: true,
        name: { givenName: 'Alice', familyName: 'Adams' },
        emails: [{ primary: true, type: 'work', value: 'alice@contoso.com' }],
        [enterpriseSchema]: { department: 'Finance', employeeNumber: '42' },
        roles: [],
      });

      expect(answer.status).toBe(201);
      expect(answer.headers.get('content-type')).toBe('application/scim+json');
      const created = answer.body as Json;
      expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.meta).toEqual({
        resourceType: 'User',
        created: fixedNow.toISOString(),
        lastModified: fixedNow.toISOString(),
        location: `${service.url}/Users/${created.id}`,
      });
      expect(answer.headers.get('location')).toBe(created.meta.location);
      expect(created[enterpriseSchema]).toEqual({ department: 'Finance', employeeNumber: '42' });

      const read = await call(service, 'GET', `/Users/${created.id}`);
      expect(read.status).toBe(200);
      expect(read.body).toEqual(created);
    });

    it("normalises Entra's string active on create to a boolean", async () => {
      const created = await create(service, 'Users', user('bob@contoso.com', { active: 'False' }));
      expect(created.active).toBe(false);
    });

    it('answers an unknown id with a 404 SCIM error', async () => {
      const answer = await call(service, 'GET', '/Users/does-not-exist');
      expect(answer.status).toBe(404);
      expect(answer.headers.get('content-type')).toBe('application/scim+json');
      expect(answer.body).toEqual({ schemas: [errorSchema], status: '404', detail: 'User does-not-exist not found.' });
    });

    it('refuses a second userName that differs only in case with 409 uniqueness', async () => {
      await create(service, 'Users', user('Carol@Contoso.com'));
      const answer = await call(service, 'POST', '/Users', user('carol@contoso.COM'));
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ schemas: [errorSchema], status: '409', scimType: 'uniqueness' });
      expect(service.resources('Users')).toHaveLength(1);
    });

    it('rejects a user without userName as 400 invalidValue', async () => {
      const answer = await call(service, 'POST', '/Users', { schemas: [userSchema], displayName: 'Nobody' });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ status: '400', scimType: 'invalidValue' });
    });

    it('rejects a body that is not JSON as 400 invalidSyntax', async () => {
      const response = await fetch(`${service.url}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: '{"userName":',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ scimType: 'invalidSyntax' });
    });

    it('replaces a user with PUT, keeping id and created, and enforcing uniqueness', async () => {
      const dave = await create(service, 'Users', user('dave@contoso.com', { title: 'Engineer' }));
      await create(service, 'Users', user('erin@contoso.com'));

      const replaced = await call(service, 'PUT', `/Users/${dave.id}`, user('dave@contoso.com', { displayName: 'Dave' }));
      expect(replaced.status).toBe(200);
      expect(replaced.body).toMatchObject({ id: dave.id, displayName: 'Dave', meta: { created: dave.meta.created } });
      expect(replaced.body).not.toHaveProperty('title');

      const clash = await call(service, 'PUT', `/Users/${dave.id}`, user('ERIN@contoso.com'));
      expect(clash.status).toBe(409);
      expect(clash.body).toMatchObject({ scimType: 'uniqueness' });
    });

    it('deletes with 204, then answers 404', async () => {
      const frank = await create(service, 'Users', user('frank@contoso.com'));
      expect((await call(service, 'DELETE', `/Users/${frank.id}`)).status).toBe(204);
      expect((await call(service, 'GET', `/Users/${frank.id}`)).status).toBe(404);
      expect((await call(service, 'DELETE', `/Users/${frank.id}`)).status).toBe(404);
    });
  });

  describe('filters and paging', () => {
    beforeEach(async () => {
      for (let index = 1; index <= 7; index += 1) {
        await create(service, 'Users', user(`user${index}@contoso.com`, { externalId: `ext-${index}`, active: index % 2 === 1 }));
      }
    });

    it('matches userName eq case-insensitively, as RFC 7643 makes userName caseExact=false', async () => {
      const answer = await call(service, 'GET', `/Users?${query('userName eq "USER3@Contoso.com"')}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
        totalResults: 1,
        startIndex: 1,
        itemsPerPage: 1,
      });
      expect(answer.body?.Resources[0].userName).toBe('user3@contoso.com');
    });

    it('matches externalId exactly (caseExact=true)', async () => {
      const exact = await call(service, 'GET', `/Users?${query('externalId eq "ext-4"')}`);
      const otherCase = await call(service, 'GET', `/Users?${query('externalId eq "EXT-4"')}`);
      expect(exact.body?.Resources.map((found: Json) => found.userName)).toEqual(['user4@contoso.com']);
      expect(otherCase.body?.totalResults).toBe(0);
    });

    it('accepts attribute names in any case and qualified by their schema URN', async () => {
      const qualified = await call(service, 'GET', `/Users?${query(`${userSchema}:userName eq "user2@contoso.com"`)}`);
      const otherCase = await call(service, 'GET', `/Users?${query('USERNAME eq "user2@contoso.com"')}`);
      expect(qualified.body?.totalResults).toBe(1);
      expect(otherCase.body?.totalResults).toBe(1);
    });

    it('combines terms with and', async () => {
      const both = await call(service, 'GET', `/Users?${query('userName eq "user5@contoso.com" and active eq true')}`);
      const contradicting = await call(service, 'GET', `/Users?${query('userName eq "user5@contoso.com" and active eq false')}`);
      expect(both.body?.totalResults).toBe(1);
      expect(contradicting.body).toMatchObject({ totalResults: 0, Resources: [] });
    });

    it('answers a match-nothing filter with an empty ListResponse, as Entra tests the connection', async () => {
      const answer = await call(service, 'GET', `/Users?${query('userName eq "2b8f0c4e-0d6f-4a55-9c1e-000000000000"')}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ totalResults: 0, Resources: [] });
    });

    it('answers a malformed filter with 400 invalidFilter', async () => {
      const answer = await call(service, 'GET', `/Users?${query('userName eq')}`);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    });

    it('pages with startIndex and count in creation order, reporting totalResults', async () => {
      const answer = await call(service, 'GET', '/Users?startIndex=3&count=2&attributes=userName');
      expect(answer.body).toMatchObject({ totalResults: 7, startIndex: 3, itemsPerPage: 2 });
      expect(answer.body?.Resources.map((found: Json) => found.userName)).toEqual(['user3@contoso.com', 'user4@contoso.com']);

      const last = await call(service, 'GET', '/Users?startIndex=7&count=5');
      expect(last.body?.Resources).toHaveLength(1);
      const past = await call(service, 'GET', '/Users?startIndex=20&count=5');
      expect(past.body).toMatchObject({ totalResults: 7, itemsPerPage: 0, Resources: [] });
    });

    it('caps a page at maxPageSize whatever count asks', async () => {
      const capped = await startLocalScimService({ token, maxPageSize: 3 });
      try {
        for (let index = 0; index < 5; index += 1) await create(capped, 'Users', user(`capped${index}@contoso.com`));
        const answer = await call(capped, 'GET', '/Users?count=100');
        expect(answer.body).toMatchObject({ totalResults: 5, itemsPerPage: 3 });
      } finally {
        await capped.close();
      }
    });

    it('returns only the requested attributes, plus id and schemas', async () => {
      const answer = await call(service, 'GET', `/Users?attributes=userName,externalId&${query('externalId eq "ext-2"')}`);
      expect(answer.body?.Resources).toEqual([
        { id: expect.any(String), schemas: [userSchema], userName: 'user2@contoso.com', externalId: 'ext-2' },
      ]);
    });
  });

  describe('attribute selection', () => {
    it('selects and excludes sub-attributes, also in the enterprise extension', async () => {
      const created = await create(service, 'Users', {
        ...user('grace@contoso.com'),
        schemas: [userSchema, enterpriseSchema],
        name: { givenName: 'Grace', familyName: 'Hopper' },
        [enterpriseSchema]: { department: 'Navy', employeeNumber: '7' },
      });

      const selected = await call(service, 'GET', `/Users/${created.id}?attributes=name.givenName,${enterpriseSchema}:department`);
      expect(selected.body).toEqual({
        id: created.id,
        schemas: [userSchema, enterpriseSchema],
        name: { givenName: 'Grace' },
        [enterpriseSchema]: { department: 'Navy' },
      });

      const excluded = await call(service, 'GET', `/Users/${created.id}?excludedAttributes=name,${enterpriseSchema}:employeeNumber`);
      expect(excluded.body).not.toHaveProperty('name');
      expect(excluded.body?.[enterpriseSchema]).toEqual({ department: 'Navy' });
      expect(excluded.body?.userName).toBe('grace@contoso.com');
    });
  });

  describe('PATCH', () => {
    it("applies Entra's default forms: capitalised ops, string active, filtered paths, the extension URN", async () => {
      const created = await create(service, 'Users', {
        ...user('heidi@contoso.com'),
        emails: [{ type: 'work', value: 'old@contoso.com', primary: true }],
      });

      const answer = await call(
        service,
        'PATCH',
        `/Users/${created.id}`,
        patchOp(
          { op: 'Replace', path: 'active', value: 'False' },
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'heidi@contoso.com' },
          { op: 'Add', path: `${enterpriseSchema}:department`, value: 'Research' },
          { op: 'Replace', path: 'name.familyName', value: 'Lamarr' },
        ),
      );

      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        id: created.id,
        active: false,
        emails: [{ type: 'work', value: 'heidi@contoso.com', primary: true }],
        name: { familyName: 'Lamarr' },
        [enterpriseSchema]: { department: 'Research' },
      });
    });

    it('applies the RFC forms: lowercase ops, boolean active, a path-less replace of several attributes', async () => {
      const created = await create(service, 'Users', user('ivan@contoso.com'));
      const answer = await call(
        service,
        'PATCH',
        `/Users/${created.id}`,
        patchOp({ op: 'replace', value: { active: 'True', displayName: 'Ivan', title: 'Pilot' } }, { op: 'remove', path: 'title' }),
      );
      expect(answer.body).toMatchObject({ active: true, displayName: 'Ivan' });
      expect(answer.body).not.toHaveProperty('title');
    });

    it('refuses a PATCH that would take another user’s userName', async () => {
      await create(service, 'Users', user('judy@contoso.com'));
      const karl = await create(service, 'Users', user('karl@contoso.com'));
      const answer = await call(service, 'PATCH', `/Users/${karl.id}`, patchOp({ op: 'replace', path: 'userName', value: 'JUDY@contoso.com' }));
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ scimType: 'uniqueness' });
    });

    it('rejects a body that is not a PatchOp message as 400 invalidSyntax', async () => {
      const created = await create(service, 'Users', user('leo@contoso.com'));
      const answer = await call(service, 'PATCH', `/Users/${created.id}`, { schemas: [patchSchema], Operations: [{ op: 'merge' }] });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ scimType: 'invalidSyntax' });
    });

    it('adds members with 204, removes them by value list (Entra) and by value filter (RFC), never doubling one', async () => {
      const [mallory, nina, oscar] = [
        await create(service, 'Users', user('mallory@contoso.com')),
        await create(service, 'Users', user('nina@contoso.com')),
        await create(service, 'Users', user('oscar@contoso.com')),
      ] as [Json, Json, Json];
      const team = await create(service, 'Groups', group('Team', { externalId: 'obj-1' }));

      const add = await call(
        service,
        'PATCH',
        `/Groups/${team.id}`,
        patchOp({
          op: 'Add',
          path: 'members',
          value: [mallory, nina, oscar, mallory].map((member) => ({ $ref: null, value: member.id })),
        }),
      );
      expect(add.status).toBe(204);
      expect(add.body).toBeNull();
      const members = async (): Promise<string[]> =>
        ((await call(service, 'GET', `/Groups/${team.id}`)).body?.members ?? []).map((member: Json) => member.value);
      expect(await members()).toEqual([mallory.id, nina.id, oscar.id]);

      await call(service, 'PATCH', `/Groups/${team.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ $ref: null, value: mallory.id }] }));
      expect(await members()).toEqual([nina.id, oscar.id]);

      await call(service, 'PATCH', `/Groups/${team.id}`, patchOp({ op: 'remove', path: `members[value eq "${oscar.id}"]` }));
      expect(await members()).toEqual([nina.id]);

      const rename = await call(service, 'PATCH', `/Groups/${team.id}`, patchOp({ op: 'Replace', path: 'displayName', value: 'Team 2' }));
      expect(rename.status).toBe(204);
      expect((await call(service, 'GET', `/Groups/${team.id}`)).body?.displayName).toBe('Team 2');
    });
  });

  describe('Groups', () => {
    it('refuses a duplicate displayName with 409 uniqueness', async () => {
      await create(service, 'Groups', group('Sales'));
      const answer = await call(service, 'POST', '/Groups', group('SALES'));
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
    });

    it('leaves members out when asked, as Entra matches groups', async () => {
      const member = await create(service, 'Users', user('pat@contoso.com'));
      await create(service, 'Groups', group('Ops', { members: [{ value: member.id }] }));
      const answer = await call(service, 'GET', `/Groups?excludedAttributes=members&${query('displayName eq "ops"')}`);
      expect(answer.body?.totalResults).toBe(1);
      expect(answer.body?.Resources[0]).toMatchObject({ displayName: 'Ops' });
      expect(answer.body?.Resources[0]).not.toHaveProperty('members');
    });

    it('drops a deleted user from the groups it belonged to', async () => {
      const quinn = await create(service, 'Users', user('quinn@contoso.com'));
      const rita = await create(service, 'Users', user('rita@contoso.com'));
      const crew = await create(service, 'Groups', group('Crew', { members: [{ value: quinn.id }, { value: rita.id }] }));
      await call(service, 'DELETE', `/Users/${quinn.id}`);
      const read = await call(service, 'GET', `/Groups/${crew.id}`);
      expect(read.body?.members).toEqual([{ value: rita.id }]);
    });
  });

  describe('authentication', () => {
    it.each([
      ['no token', ''],
      ['a wrong token', 'not-the-token'],
    ])('answers %s with a 401 SCIM error', async (_case, bearer) => {
      const answer = await call(service, 'GET', '/Users', undefined, bearer);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(answer.body).toMatchObject({ schemas: [errorSchema], status: '401' });
    });
  });

  describe('discovery', () => {
    it('describes itself through ServiceProviderConfig, ResourceTypes and Schemas', async () => {
      const config = await call(service, 'GET', '/ServiceProviderConfig');
      expect(config.body).toMatchObject({ patch: { supported: true }, filter: { supported: true, maxResults: 50 }, bulk: { supported: false } });

      const types = await call(service, 'GET', '/ResourceTypes');
      expect(types.body?.Resources).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ name: 'User', endpoint: '/Users', schemaExtensions: [{ schema: enterpriseSchema, required: false }] }),
          expect.objectContaining({ name: 'Group', endpoint: '/Groups' }),
        ]),
      );

      const schemas = await call(service, 'GET', '/Schemas');
      expect(schemas.body?.Resources.map((schema: Json) => schema.id)).toEqual([userSchema, enterpriseSchema, groupSchema]);
      const userName = (await call(service, 'GET', `/Schemas/${userSchema}`)).body?.attributes.find(
        (attribute: Json) => attribute.name === 'userName',
      );
      expect(userName).toMatchObject({ required: true, caseExact: false, uniqueness: 'server' });
    });
  });

  describe('test hooks', () => {
    it('answers the next requests with injected faults, then serves again', async () => {
      service.failNext({ status: 429, retryAfter: '3', times: 2 });
      const first = await call(service, 'GET', '/Users');
      const second = await call(service, 'GET', '/Users');
      const third = await call(service, 'GET', '/Users');
      expect([first.status, second.status, third.status]).toEqual([429, 429, 200]);
      expect(first.headers.get('retry-after')).toBe('3');
      expect(first.body).toMatchObject({ schemas: [errorSchema], status: '429' });
    });

    it('meets only the requests a fault matches; the others are served meanwhile', async () => {
      const aboutUna = (request: { method: string; body: unknown }) => request.method === 'POST' && (request.body as Json)?.userName === 'una@contoso.com';
      service.failNext({ status: 400, detail: 'Not this one.', match: aboutUna });
      await create(service, 'Users', user('ulf@contoso.com'));
      const refused = await call(service, 'POST', '/Users', user('una@contoso.com'));
      const again = await call(service, 'POST', '/Users', user('una@contoso.com'));
      expect([refused.status, again.status]).toEqual([400, 201]);
      expect(refused.body).toMatchObject({ detail: 'Not this one.' });
      expect(service.requests().map((request) => [request.status, request.fault?.status])).toEqual([
        [201, undefined],
        [400, 400],
        [201, undefined],
      ]);
    });

    it('answers late: with a status nothing is served, without one the change is made and only its answer waits', async () => {
      service.failNext({ status: 503, delayMs: 150 });
      const started = Date.now();
      expect((await call(service, 'POST', '/Users', user('vic@contoso.com'))).status).toBe(503);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(service.resources('Users')).toEqual([]);

      service.failNext({ delayMs: 2_000 });
      const timedOut = fetch(`${service.url}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify(user('vic@contoso.com')),
        signal: AbortSignal.timeout(100),
      });
      await expect(timedOut).rejects.toThrow();
      expect(service.resources('Users').map((resource) => resource.userName)).toEqual(['vic@contoso.com']);
      expect(service.requests().at(-1)).toMatchObject({ method: 'POST', fault: { delayMs: 2_000 } });
    });

    it('logs requests in the order they arrived', async () => {
      const created = await create(service, 'Users', user('sam@contoso.com'));
      await call(service, 'PATCH', `/Users/${created.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
      await call(service, 'DELETE', `/Users/${created.id}`);
      expect(service.requests().map((request) => `${request.method} ${request.path}`)).toEqual([
        'POST /Users',
        `PATCH /Users/${created.id}`,
        `DELETE /Users/${created.id}`,
      ]);
      expect(service.requests()[1]).toMatchObject({
        contentType: 'application/scim+json',
        body: { Operations: [{ op: 'replace', path: 'active', value: false }] },
      });
    });
  });
});

describe('local SCIM service persistence', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'scim-service-'));
  });

  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('keeps users and groups across a restart on the same data file, with their indexes', async () => {
    const dataFile = join(directory, 'nested', 'scim.json');
    const first = await startLocalScimService({ token, dataFile, clock });
    const tina = await create(first, 'Users', user('tina@contoso.com', { externalId: 'tina' }));
    const team = await create(first, 'Groups', group('Persisted', { members: [{ value: tina.id }] }));
    await first.close();

    const saved = JSON.parse(await readFile(dataFile, 'utf8')) as Json;
    expect(saved.Users).toHaveLength(1);

    const second = await startLocalScimService({ token, dataFile, clock });
    try {
      expect((await call(second, 'GET', `/Users/${tina.id}`)).body).toMatchObject({ userName: 'tina@contoso.com', externalId: 'tina' });
      expect((await call(second, 'GET', `/Groups/${team.id}`)).body?.members).toEqual([{ value: tina.id }]);
      expect((await call(second, 'GET', `/Users?${query('externalId eq "tina"')}`)).body?.totalResults).toBe(1);
      expect((await call(second, 'POST', '/Users', user('TINA@contoso.com'))).status).toBe(409);
    } finally {
      await second.close();
    }
  });

  it('moves the journal into the data file on flush', async () => {
    const dataFile = join(directory, 'flush.json');
    const service = await startLocalScimService({ token, dataFile });
    try {
      await create(service, 'Users', user('uma@contoso.com'));
      expect(await readFile(`${dataFile}.journal`, 'utf8')).toContain('uma@contoso.com');
      await service.flush();
      const saved = JSON.parse(await readFile(dataFile, 'utf8')) as Json;
      expect(saved.Users.map((stored: Json) => stored.userName)).toEqual(['uma@contoso.com']);
      expect(await readFile(`${dataFile}.journal`, 'utf8')).toBe('');
    } finally {
      await service.close();
    }
  });
});
