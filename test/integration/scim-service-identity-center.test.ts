import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { errorSchema, group, groupSchema, patchOp, patchSchema, query, scimRequests, userSchema, type Json, type ScimAnswer } from '../support/scim-requests.ts';

const token = 'identity-center-test-token';
const { call, create } = scimRequests(token, { 'user-agent': 'identity-center-test' });
const listSchema = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const clock = { now: () => new Date('2026-03-01T10:00:00.000Z') };
const identityCenterId = /^[0-9a-f]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const unparsable = 'Request is unparsable, syntactically incorrect, or violates schema.';

/** node:http sends no User-Agent unless told to, unlike fetch. */
function callWithoutUserAgent(service: LocalScimService, method: string, path: string, body: unknown): Promise<Pick<ScimAnswer, 'status' | 'body'>> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${service.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(text) },
    });
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const answer = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, body: answer === '' ? null : (JSON.parse(answer) as Json) });
      });
    });
    outgoing.on('error', reject);
    outgoing.end(text);
  });
}

const user = (userName: string, extra: Json = {}): Json => ({
  schemas: [userSchema],
  userName,
  displayName: `User ${userName}`,
  name: { givenName: 'Given', familyName: 'Family' },
  emails: [{ value: `${userName}@example.com`, type: 'work', primary: true }],
  active: true,
  ...extra,
});

async function createUsers(service: LocalScimService, count: number): Promise<Json[]> {
  const users: Json[] = [];
  for (let index = 0; index < count; index += 1) users.push(await create(service, 'Users', user(`user${index}`)));
  return users;
}

function expectValidationError(answer: Pick<ScimAnswer, 'status' | 'body'>, detail?: string | RegExp): void {
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ schema: [errorSchema], schemas: [errorSchema], status: '400' });
  expect(answer.body?.scimType).toBeUndefined();
  if (typeof detail === 'string') expect(answer.body?.detail).toBe(detail);
  else if (detail !== undefined) expect(answer.body?.detail).toMatch(detail);
}

describe('local SCIM service as AWS IAM Identity Center', () => {
  let service: LocalScimService;

  beforeEach(async () => {
    service = await startLocalScimService({ token, clock, profile: 'aws-identity-center' });
  });

  afterEach(async () => {
    await service.close();
  });

  describe('endpoints', () => {
    it('has no /Bulk, /Me or /Search', async () => {
      for (const path of ['/Bulk', '/Me', '/Search']) {
        const answer = await call(service, path === '/Bulk' ? 'POST' : 'GET', path);
        expect(answer.status).toBe(404);
        expect(answer.body).toMatchObject({ schema: [errorSchema], status: '404' });
      }
    });

    it('serves a ServiceProviderConfig like the documented one', async () => {
      const answer = await call(service, 'GET', '/ServiceProviderConfig');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        patch: { supported: true },
        bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
        filter: { supported: true, maxResults: 100 },
        changePassword: { supported: false },
        sort: { supported: false },
        etag: { supported: false },
        authenticationSchemes: [{ type: 'oauthbearertoken', primary: true }],
      });
    });

    it('serves /Schemas and /ResourceTypes', async () => {
      expect((await call(service, 'GET', '/Schemas')).status).toBe(200);
      expect((await call(service, 'GET', '/ResourceTypes')).status).toBe(200);
    });
  });

  describe('errors', () => {
    it('answers in Identity Center shape: schema and schemas, status, detail, request id, time stamp', async () => {
      const answer = await call(service, 'POST', '/Users', { schemas: [userSchema] });
      expect(answer.body).toEqual({
        schema: [errorSchema],
        schemas: [errorSchema],
        detail: unparsable,
        status: '400',
        exceptionRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        timeStamp: '2026-03-01 10:00:00.000',
      });
    });

    it('refuses a duplicate userName, in any case, with 409', async () => {
      await create(service, 'Users', user('alice'));
      const answer = await call(service, 'POST', '/Users', user('ALICE'));
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ schema: [errorSchema], status: '409', detail: 'Refused to create a new, duplicate resource.' });
    });

    it('refuses a duplicate group displayName with 409', async () => {
      await create(service, 'Groups', group('Admins'));
      const answer = await call(service, 'POST', '/Groups', group('Admins'));
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ status: '409', detail: 'Refused to create a new, duplicate resource.' });
    });
  });

  describe('CreateUser', () => {
    it('gives ids of the identity-store-prefix form', async () => {
      const created = await create(service, 'Users', user('alice'));
      expect(created.id).toMatch(identityCenterId);
      expect((await create(service, 'Groups', group('G'))).id).toMatch(identityCenterId);
    });

    it.each([
      ['givenName', { name: { familyName: 'Family' } }],
      ['familyName', { name: { givenName: 'Given' } }],
      ['displayName', { displayName: undefined }],
    ])('requires %s', async (attribute, change) => {
      const answer = await call(service, 'POST', '/Users', user('alice', change));
      expectValidationError(answer, `The attribute ${attribute} is required.`);
    });

    it('refuses two emails, two phone numbers or two roles', async () => {
      const second = [{ value: 'a', primary: true }, { value: 'b' }];
      for (const attribute of ['emails', 'phoneNumbers', 'roles']) {
        const answer = await call(service, 'POST', '/Users', user('alice', { [attribute]: second }));
        expectValidationError(answer, `Only one value is permitted for ${attribute}.`);
      }
    });

    it('requires the email to be primary', async () => {
      const answer = await call(service, 'POST', '/Users', user('alice', { emails: [{ value: 'a@example.com', type: 'work' }] }));
      expectValidationError(answer, 'The emails value must be marked as primary.');
    });

    it('refuses groups on create, and a role with display', async () => {
      expectValidationError(await call(service, 'POST', '/Users', user('alice', { groups: [{ value: 'g' }] })), /groups/);
      const roles = [{ value: 'admin', display: 'Admin' }];
      expectValidationError(await call(service, 'POST', '/Users', user('alice', { roles })), /roles/);
    });

    it('drops the attributes and sub-attributes it does not support', async () => {
      const created = await create(
        service,
        'Users',
        user('alice', {
          password: 'secret',
          ims: [{ value: 'alice' }],
          photos: [{ value: 'https://example.com/a.png' }],
          emails: [{ value: 'alice@example.com', primary: true, display: 'Alice' }],
        }),
      );
      expect(created).not.toHaveProperty('password');
      expect(created).not.toHaveProperty('ims');
      expect(created).not.toHaveProperty('photos');
      expect(created.emails).toEqual([{ value: 'alice@example.com', primary: true }]);
    });

    it('refuses tabs and line breaks', async () => {
      expectValidationError(await call(service, 'POST', '/Users', user('alice', { displayName: 'Alice\tAdams' })), /displayName/);
      expectValidationError(await call(service, 'POST', '/Users', user('ali\nce')), /userName/);
      expectValidationError(await call(service, 'POST', '/Groups', group('Ops\r\nTeam')), /displayName/);
      expect((await call(service, 'POST', '/Users', user('o\'brien;x:y%'))).status).toBe(201);
    });
  });

  describe('PatchUser', () => {
    let alice: Json;
    beforeEach(async () => {
      alice = await create(service, 'Users', user('alice'));
    });

    it('applies one operation on active', async () => {
      const answer = await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
      expect(answer.status).toBe(200);
      expect(answer.body?.active).toBe(false);
    });

    it('refuses two operations on active, or on userName, in one request', async () => {
      const active = patchOp({ op: 'replace', path: 'active', value: false }, { op: 'replace', value: { active: true } });
      expectValidationError(await call(service, 'PATCH', `/Users/${alice.id}`, active), /userName or active/);
      const userName = patchOp({ op: 'replace', path: 'userName', value: 'a' }, { op: 'replace', path: 'userName', value: 'b' });
      expectValidationError(await call(service, 'PATCH', `/Users/${alice.id}`, userName), /userName or active/);
    });

    it('refuses remove of active or userName', async () => {
      for (const path of ['active', 'userName']) {
        expectValidationError(await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'remove', path })), /remove/);
      }
    });

    it('requires a value for add and replace, and a path for remove', async () => {
      expectValidationError(await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'replace', path: 'title' })), /value is required/);
      expectValidationError(await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'remove' })));
      expectValidationError(await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'move', path: 'title', value: 'x' })));
    });

    it('modifies only the documented attributes', async () => {
      expectValidationError(await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'add', path: 'roles', value: [{ value: 'r' }] })), /roles/);
      const department = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department';
      expect((await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'add', path: department, value: 'Ops' }))).status).toBe(200);
    });

    it('refuses a second email through PATCH', async () => {
      const answer = await call(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'add', path: 'emails', value: [{ value: 'b@example.com' }] }));
      expectValidationError(answer, 'Only one value is permitted for emails.');
    });

    it('refuses a PATCH without a User-Agent header', async () => {
      const answer = await callWithoutUserAgent(service, 'PATCH', `/Users/${alice.id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }));
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ schema: [errorSchema], status: '403', detail: expect.stringMatching(/User-Agent/) });
      expect(service.resources('Users')[0]).not.toHaveProperty('title');
    });
  });

  describe('groups', () => {
    it('never returns members, but members.value eq finds a user\'s groups', async () => {
      const [alice, bob] = await createUsers(service, 2);
      const created = await call(service, 'POST', '/Groups', group('Admins', { members: [{ value: alice!.id }] }));
      expect(created.status).toBe(201);
      expect(created.body).not.toHaveProperty('members');
      const admins = created.body as Json;
      await create(service, 'Groups', group('Others', { members: [{ value: bob!.id }] }));

      const fetched = await call(service, 'GET', `/Groups/${admins.id}`);
      expect(fetched.body?.members).toEqual([]);
      const listed = await call(service, 'GET', '/Groups');
      expect(listed.body?.Resources.map((item: Json) => item.members)).toEqual([[], []]);

      const ofAlice = await call(service, 'GET', `/Groups?${query(`members.value eq "${alice!.id}"`)}`);
      expect(ofAlice.body?.Resources.map((item: Json) => item.displayName)).toEqual(['Admins']);
      const member = await call(service, 'GET', `/Groups?${query(`id eq "${admins.id}" and members eq "${alice!.id}"`)}`);
      expect(member.body?.Resources.map((item: Json) => item.id)).toEqual([admins.id]);
      const notMember = await call(service, 'GET', `/Groups?${query(`members eq "${bob!.id}" and id eq "${admins.id}"`)}`);
      expect(notMember.body?.Resources).toEqual([]);
      const usersOfAdmins = await call(service, 'GET', `/Users?${query(`groups.value eq "${admins.id}"`)}`);
      expect(usersOfAdmins.body?.Resources.map((item: Json) => item.userName)).toEqual(['user0']);
      expectValidationError(await call(service, 'GET', `/Groups?${query(`id eq "${admins.id}" and members eq ""`)}`), unparsable);
    });

    it('creates a group with 100 members, not 101', async () => {
      const members = Array.from({ length: 101 }, (_, index) => ({ value: `member-${index}` }));
      expectValidationError(await call(service, 'POST', '/Groups', group('Big', { members })), /at most 100/);
      expect((await call(service, 'POST', '/Groups', group('Big', { members: members.slice(0, 100) }))).status).toBe(201);
    });

    it('takes 100 membership changes in one PATCH, not 101', async () => {
      const users = await createUsers(service, 101);
      const target = await create(service, 'Groups', group('Big'));
      const members = users.map(({ id }) => ({ value: id }));
      const tooMany = await call(service, 'PATCH', `/Groups/${target.id}`, patchOp({ op: 'add', path: 'members', value: members }));
      expectValidationError(tooMany, unparsable);
      const split = patchOp({ op: 'add', path: 'members', value: members.slice(0, 60) }, { op: 'add', path: 'members', value: members.slice(60) });
      expectValidationError(await call(service, 'PATCH', `/Groups/${target.id}`, split), unparsable);
      const hundred = await call(service, 'PATCH', `/Groups/${target.id}`, patchOp({ op: 'add', path: 'members', value: members.slice(0, 100) }));
      expect(hundred.status).toBe(204);
      expect(service.resources('Groups')[0]?.members).toHaveLength(100);
    });

    it('refuses replace of members and remove of all members', async () => {
      const [alice] = await createUsers(service, 1);
      const target = await create(service, 'Groups', group('Admins', { members: [{ value: alice!.id }] }));
      const replace = patchOp({ op: 'replace', path: 'members', value: [{ value: alice!.id }] });
      expectValidationError(await call(service, 'PATCH', `/Groups/${target.id}`, replace), /Replacing/);
      const replaceInValue = patchOp({ op: 'replace', value: { members: [{ value: alice!.id }] } });
      expectValidationError(await call(service, 'PATCH', `/Groups/${target.id}`, replaceInValue), /Replacing/);
      expectValidationError(await call(service, 'PATCH', `/Groups/${target.id}`, patchOp({ op: 'remove', path: 'members' })), /Removing all/);
      const emptyList = patchOp({ op: 'remove', path: 'members', value: [] });
      expectValidationError(await call(service, 'PATCH', `/Groups/${target.id}`, emptyList), /Removing all/);
      expect(service.resources('Groups')[0]?.members).toEqual([{ value: alice!.id }]);
    });

    it('removes members by a value list and by a value filter', async () => {
      const [alice, bob] = await createUsers(service, 2);
      const target = await create(service, 'Groups', group('Admins', { members: [{ value: alice!.id }, { value: bob!.id }] }));
      const byList = patchOp({ op: 'remove', path: 'members', value: [{ value: alice!.id }] });
      expect((await call(service, 'PATCH', `/Groups/${target.id}`, byList)).status).toBe(204);
      expect(service.resources('Groups')[0]?.members).toEqual([{ value: bob!.id }]);
      const byFilter = patchOp({ op: 'remove', path: `members[value eq "${bob!.id}"]` });
      expect((await call(service, 'PATCH', `/Groups/${target.id}`, byFilter)).status).toBe(204);
      expect(service.resources('Groups')[0]?.members ?? []).toEqual([]);
    });

    it('patches displayName and externalId only, as the documented replace-with-value form', async () => {
      const target = await create(service, 'Groups', group('Admins'));
      const rename = patchOp({ op: 'replace', value: { id: target.id, displayName: 'Administrators' } });
      expect((await call(service, 'PATCH', `/Groups/${target.id}`, rename)).status).toBe(204);
      expect(service.resources('Groups')[0]?.displayName).toBe('Administrators');
      const other = patchOp({ op: 'add', path: 'description', value: 'x' });
      expectValidationError(await call(service, 'PATCH', `/Groups/${target.id}`, other), /displayName, members and externalId/);
    });

    it('refuses a group PATCH without a User-Agent header', async () => {
      const target = await create(service, 'Groups', group('Admins'));
      const answer = await callWithoutUserAgent(service, 'PATCH', `/Groups/${target.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'x' }));
      expect(answer.status).toBe(403);
    });

    it('has no PutGroup', async () => {
      const target = await create(service, 'Groups', group('Admins'));
      expectValidationError(await call(service, 'PUT', `/Groups/${target.id}`, group('Renamed')), /PUT/);
    });
  });

  describe('listing', () => {
    it('pages 250 users by cursor, each exactly once, at most 100 a page', async () => {
      const users = await createUsers(service, 250);
      const seen: string[] = [];
      let cursor = '';
      let pages = 0;
      for (;;) {
        const answer = await call(service, 'GET', `/Users?cursor=${encodeURIComponent(cursor)}`);
        expect(answer.status).toBe(200);
        const body = answer.body as Json;
        expect(body.schemas).toEqual([listSchema]);
        expect(body).not.toHaveProperty('totalResults');
        expect(body).not.toHaveProperty('startIndex');
        expect(body.Resources.length).toBeLessThanOrEqual(100);
        expect(body.itemsPerPage).toBe(body.Resources.length);
        seen.push(...body.Resources.map((item: Json) => item.id as string));
        pages += 1;
        if (body.nextCursor === undefined) break;
        expect(body.nextCursor).toMatch(/^[-a-zA-Z0-9+=/:_]+$/);
        cursor = body.nextCursor as string;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual(users.map(({ id }) => id));
    });

    it('accepts a bare cursor parameter and a smaller count', async () => {
      await createUsers(service, 3);
      const answer = await call(service, 'GET', '/Users?cursor&count=2');
      expect(answer.body).toMatchObject({ itemsPerPage: 2, nextCursor: expect.any(String) });
    });

    it('refuses a garbled or foreign cursor, and one that breaks the pattern', async () => {
      await createUsers(service, 3);
      const first = await call(service, 'GET', '/Users?cursor&count=1');
      const cursor = first.body?.nextCursor as string;
      expectValidationError(await call(service, 'GET', `/Users?cursor=${encodeURIComponent(`${cursor}x`)}`), /cursor/);
      expectValidationError(await call(service, 'GET', `/Groups?cursor=${encodeURIComponent(cursor)}`), /cursor/);
      expectValidationError(await call(service, 'GET', `/Users?${query('userName eq "user1"')}&cursor=${encodeURIComponent(cursor)}`), /cursor/);
      expectValidationError(await call(service, 'GET', '/Users?cursor=not%20valid!'), /cursor/);
    });

    it('without a cursor answers one page of at most 100, whatever startIndex says', async () => {
      const users = await createUsers(service, 120);
      const answer = await call(service, 'GET', '/Users?startIndex=101&attributes=userName');
      expect(answer.status).toBe(200);
      const body = answer.body as Json;
      expect(body).toMatchObject({ schemas: [listSchema], totalResults: 100, itemsPerPage: 100, startIndex: 1 });
      expect(body).not.toHaveProperty('nextCursor');
      expect(body.Resources[0].id).toBe(users[0]!.id);
      expect(body.Resources[0].displayName).toBe('User user0');
    });

    it('takes count from 1 to 100 only', async () => {
      await createUsers(service, 2);
      expect((await call(service, 'GET', '/Users?count=1')).body?.Resources).toHaveLength(1);
      expectValidationError(await call(service, 'GET', '/Users?count=101'), /count/);
      expectValidationError(await call(service, 'GET', '/Users?count=0'), /count/);
    });

    it('filters by the documented attributes with eq only', async () => {
      const [alice] = await createUsers(service, 2);
      await call(service, 'PATCH', `/Users/${alice!.id}`, patchOp({ op: 'add', path: 'externalId', value: 'ext-0' }));
      for (const filter of ['userName eq "USER0"', 'externalId eq "ext-0"', `id eq "${alice!.id}"`]) {
        const answer = await call(service, 'GET', `/Users?${query(filter)}`);
        expect(answer.body?.Resources.map((item: Json) => item.id)).toEqual([alice!.id]);
      }
      for (const filter of ['userName co "user"', 'userName eq "user0" or userName eq "user1"', 'displayName eq "User user0"', 'not (userName eq "x")']) {
        expectValidationError(await call(service, 'GET', `/Users?${query(filter)}`), /not supported|unparsable/);
      }
      expectValidationError(await call(service, 'GET', `/Groups?${query('externalId sw "x"')}`), /not supported/);
    });

    it('finds a user by id and manager', async () => {
      const [boss] = await createUsers(service, 1);
      const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
      const report = await create(service, 'Users', user('report', { schemas: [userSchema, enterprise], [enterprise]: { manager: { value: boss!.id } } }));
      const found = await call(service, 'GET', `/Users?${query(`manager eq "${boss!.id}" and id eq "${report.id}"`)}`);
      expect(found.body?.Resources.map((item: Json) => item.id)).toEqual([report.id]);
      const notFound = await call(service, 'GET', `/Users?${query(`id eq "${report.id}" and manager eq "someone"`)}`);
      expect(notFound.body?.Resources).toEqual([]);
    });
  });

  it('keeps every acknowledged change in its journal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'scim-identity-center-'));
    const dataFile = join(dir, 'scim.json');
    try {
      const durable = await startLocalScimService({ token, clock, profile: 'aws-identity-center', dataFile });
      const alice = await create(durable, 'Users', user('alice'));
      const admins = await create(durable, 'Groups', group('Admins'));
      await call(durable, 'PATCH', `/Groups/${admins.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: alice.id }] }));
      await durable.close();
      const reopened = await startLocalScimService({ token, clock, profile: 'aws-identity-center', dataFile });
      try {
        const groups = await call(reopened, 'GET', `/Groups?${query(`members.value eq "${alice.id}"`)}`);
        expect(groups.body?.Resources.map((item: Json) => item.id)).toEqual([admins.id]);
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
