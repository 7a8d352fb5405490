import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalDirectory, type LocalDirectory, type LocalDirectoryOptions } from '../../local/directory/local-directory.ts';

interface Reply {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

class FakeClock {
  constructor(private ms = Date.parse('2026-01-05T10:00:00Z')) {}
  now = () => new Date(this.ms);
  advance(ms: number) {
    this.ms += ms;
  }
}

const open: LocalDirectory[] = [];
const folders: string[] = [];

afterEach(async () => {
  for (const directory of open.splice(0)) await directory.close();
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

async function start(options: LocalDirectoryOptions = {}) {
  const directory = await startLocalDirectory({ seedUsers: 0, seedGroups: 0, ...options });
  open.push(directory);
  const call = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const response = await fetch(url.startsWith('http') ? url : `${directory.url}${url}`, {
      method,
      headers: { authorization: 'Bearer anything', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const json = response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : undefined;
    return { status: response.status, text, json, headers: response.headers };
  };
  /** A link of another directory instance on this one's port (the same directory after a restart). */
  const moved = (link: string) => link.replace(/^http:\/\/[^/]+\//, `${new URL(directory.url).origin}/`);
  /** Follows nextLinks to the deltaLink; returns every page's value and the deltaLink. */
  const readDelta = async (url: string) => {
    const pages: any[][] = [];
    let next: string | undefined = url;
    for (;;) {
      const reply = await call('GET', next);
      expect(reply.status).toBe(200);
      pages.push(reply.json.value);
      next = reply.json['@odata.nextLink'];
      if (next === undefined) return { pages, objects: pages.flat(), deltaLink: reply.json['@odata.deltaLink'] as string };
    }
  };
  const createUser = async (name: string, extra: Record<string, unknown> = {}) => {
    const reply = await call('POST', '/users', {
      displayName: name,
      userPrincipalName: `${name.toLowerCase()}@contoso.example`,
      mailNickname: name.toLowerCase(),
      accountEnabled: true,
      passwordProfile: { password: 'P@ssw0rd!', forceChangePasswordNextSignIn: false },
      ...extra,
    });
    expect(reply.status).toBe(201);
    return reply.json.id as string;
  };
  const addMember = (groupId: string, userId: string) =>
    call('POST', `/groups/${groupId}/members/$ref`, { '@odata.id': `${directory.url}/directoryObjects/${userId}` });
  return { directory, call, readDelta, createUser, addMember, moved };
}

describe('local directory: users and groups', () => {
  it('creates, reads, updates, lists and deletes users with Graph JSON and errors', async () => {
    const { call, createUser } = await start();
    const id = await createUser('Adele', { jobTitle: 'Engineer', businessPhones: ['+1 425 555 0100'] });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

    const read = await call('GET', `/users/${id}`);
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      '@odata.context': expect.stringContaining('$metadata#users/$entity'),
      id,
      displayName: 'Adele',
      userPrincipalName: 'adele@contoso.example',
      jobTitle: 'Engineer',
      accountEnabled: true,
      businessPhones: ['+1 425 555 0100'],
    });
    expect(read.json).not.toHaveProperty('passwordProfile');

    expect((await call('PATCH', `/users/${id}`, { department: 'Sales', accountEnabled: false })).status).toBe(204);
    expect((await call('GET', `/users/${id}?$select=department,accountEnabled`)).json).toMatchObject({
      id,
      department: 'Sales',
      accountEnabled: false,
    });

    await createUser('Bianca');
    await createUser('Christie');
    const firstPage = await call('GET', '/users?$top=2&$select=displayName');
    expect(firstPage.json.value).toHaveLength(2);
    const secondPage = await call('GET', firstPage.json['@odata.nextLink']);
    expect(secondPage.json.value.map((u: any) => u.displayName)).toEqual(['Christie']);
    const filtered = await call('GET', `/users?$filter=userPrincipalName eq 'BIANCA@contoso.example'`);
    expect(filtered.json.value.map((u: any) => u.displayName)).toEqual(['Bianca']);

    expect((await call('DELETE', `/users/${id}`)).status).toBe(204);
    const gone = await call('GET', `/users/${id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('Request_ResourceNotFound');
    expect(gone.json.error.innerError).toMatchObject({ 'request-id': expect.any(String), 'client-request-id': expect.any(String) });
  });

  it('answers 400 for bad bodies, 409 for a duplicate userPrincipalName and 404 for unknown ids', async () => {
    const { call, createUser } = await start();
    await createUser('Diego');

    const unknownProperty = await call('POST', '/users', { displayName: 'X', userPrincipalName: 'x@contoso.example', shoeSize: 44 });
    expect(unknownProperty.status).toBe(400);
    expect(unknownProperty.json.error.message).toContain("'shoeSize'");

    const missingName = await call('POST', '/users', { userPrincipalName: 'y@contoso.example' });
    expect(missingName.status).toBe(400);

    const diego = (await call('GET', `/users?$filter=displayName eq 'Diego'`)).json.value[0].id;
    const wrongType = await call('PATCH', `/users/${diego}`, { accountEnabled: 'yes' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error.message).toContain('accountEnabled');
    const unknownId = await call('PATCH', '/users/00000000-0000-0000-0000-000000000000', { jobTitle: 'Pilot' });
    expect(unknownId.status).toBe(404);

    const duplicate = await call('POST', '/users', { displayName: 'Other Diego', userPrincipalName: 'DIEGO@contoso.example' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.error.message).toContain('userPrincipalName');

    const badJson = await fetch(`${(await start()).directory.url}/users`, { method: 'POST', body: '{not json' });
    expect(badJson.status).toBe(400);

    const badSelect = await call('GET', '/users/delta?$select=displayName,shoeSize');
    expect(badSelect.status).toBe(400);
  });

  it('manages group members through $ref and lists them', async () => {
    const { call, createUser, addMember } = await start();
    const alice = await createUser('Alice');
    const bob = await createUser('Bob');
    const group = await call('POST', '/groups', { displayName: 'Pilots', mailEnabled: false, mailNickname: 'pilots', securityEnabled: true });
    expect(group.status).toBe(201);
    const groupId = group.json.id as string;

    expect((await addMember(groupId, alice)).status).toBe(204);
    const byUsersUrl = await call('POST', `/groups/${groupId}/members/$ref`, { '@odata.id': `${'https://graph.microsoft.com/v1.0'}/users/${bob}` });
    expect(byUsersUrl.status).toBe(204);
    const again = await addMember(groupId, alice);
    expect(again.status).toBe(400);

    const members = await call('GET', `/groups/${groupId}/members`);
    expect(members.json.value.map((m: any) => [m['@odata.type'], m.id]).sort()).toEqual(
      [['#microsoft.graph.user', alice], ['#microsoft.graph.user', bob]].sort(),
    );

    const memberOf = await call('GET', `/users/${alice}/memberOf?$select=id`);
    expect(memberOf.json.value).toEqual([{ '@odata.type': '#microsoft.graph.group', id: groupId }]);

    expect((await call('DELETE', `/groups/${groupId}/members/${alice}/$ref`)).status).toBe(204);
    expect((await call('DELETE', `/groups/${groupId}/members/${alice}/$ref`)).status).toBe(404);
    expect((await call('GET', `/users/${alice}/memberOf`)).json.value).toEqual([]);
    expect((await addMember(groupId, '11111111-1111-1111-1111-111111111111')).status).toBe(404);

    expect((await call('PATCH', `/groups/${groupId}`, { description: 'Flight crew' })).status).toBe(204);
    expect((await call('GET', `/groups/${groupId}`)).json).toMatchObject({ displayName: 'Pilots', description: 'Flight crew' });
    expect((await call('DELETE', `/groups/${groupId}`)).status).toBe(204);
    expect((await call('GET', `/groups/${groupId}`)).status).toBe(404);
    // A security group is deleted permanently, as in Graph.
    expect((await call('GET', `/directory/deletedItems/${groupId}`)).status).toBe(404);
  });
});

describe('local directory: members@odata.bind', () => {
  it('adds up to 20 members with one PATCH, and a request with one bad reference changes nothing', async () => {
    const { call, createUser } = await start();
    const users = [];
    for (let i = 0; i < 21; i++) users.push(await createUser(`Crew${i}`));
    const group = (await call('POST', '/groups', { displayName: 'Crew', mailEnabled: false, mailNickname: 'crew', securityEnabled: true })).json.id as string;
    const bind = (ids: string[]) => ids.map((id) => `https://graph.microsoft.com/v1.0/directoryObjects/${id}`);
    const members = async () => (await call('GET', `/groups/${group}/members`)).json.value.map((m: any) => m.id).sort();

    expect((await call('PATCH', `/groups/${group}`, { 'members@odata.bind': bind(users.slice(0, 21)) })).status).toBe(400);
    expect(await members()).toEqual([]);
    const unknown = '11111111-1111-1111-1111-111111111111';
    expect((await call('PATCH', `/groups/${group}`, { description: 'x', 'members@odata.bind': bind([users[0]!, unknown]) })).status).toBe(404);
    expect(await members()).toEqual([]);
    expect((await call('GET', `/groups/${group}`)).json.description).toBeNull();

    expect((await call('PATCH', `/groups/${group}`, { description: 'Flight crew', 'members@odata.bind': bind(users.slice(0, 20)) })).status).toBe(204);
    expect(await members()).toEqual(users.slice(0, 20).sort());
    expect((await call('GET', `/groups/${group}`)).json.description).toBe('Flight crew');
    expect((await call('PATCH', `/groups/${group}`, { 'members@odata.bind': bind([users[0]!]) })).status).toBe(400);
  });
});

describe('local directory: delta query', () => {
  it('pages a full read through nextLinks to a deltaLink with the selected properties only', async () => {
    const { call, readDelta } = await start({ seedUsers: 25, seedGroups: 3, pageSize: 10 });
    const full = await readDelta('/users/delta?$select=displayName,userPrincipalName,accountEnabled');
    expect(full.pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(new Set(full.objects.map((u) => u.id)).size).toBe(25);
    for (const user of full.objects) {
      expect(Object.keys(user).sort()).toEqual(['accountEnabled', 'displayName', 'id', 'userPrincipalName']);
    }
    expect(full.deltaLink).toContain('$deltatoken=');

    const idle = await call('GET', full.deltaLink);
    expect(idle.json.value).toEqual([]);
    expect(idle.json['@odata.context']).toContain('users(displayName,userPrincipalName,accountEnabled)');
    expect(idle.json['@odata.deltaLink']).toContain('$deltatoken=');
  });

  it('reports changes after a deltaLink once, with the latest state, and soft delete, restore and hard delete', async () => {
    const { call, readDelta, createUser } = await start({ seedUsers: 3 });
    const { objects: seeded, deltaLink: start1 } = await readDelta('/users/delta?$select=displayName,jobTitle');
    const [first, second] = seeded.map((u) => u.id as string);

    const created = await createUser('Emily');
    await call('PATCH', `/users/${first}`, { jobTitle: 'Pilot' });
    await call('PATCH', `/users/${first}`, { jobTitle: 'Captain' });
    await call('DELETE', `/users/${second}`);
    const round1 = await readDelta(start1);
    expect(round1.objects).toHaveLength(3);
    // Two updates of one object: one entry with what changed (jobTitle), not the unchanged displayName.
    expect(round1.objects).toContainEqual({ id: first, jobTitle: 'Captain' });
    expect(round1.objects).toContainEqual({ id: created, displayName: 'Emily', jobTitle: null });
    expect(round1.objects).toContainEqual({ id: second, '@removed': { reason: 'changed' } });

    const deleted = await call('GET', `/directory/deletedItems/${second}`);
    expect(deleted.json).toMatchObject({ '@odata.type': '#microsoft.graph.user', id: second, deletedDateTime: expect.any(String) });
    const restored = await call('POST', `/directory/deletedItems/${second}/restore`);
    expect(restored.status).toBe(200);
    const round2 = await readDelta(round1.deltaLink);
    expect(round2.objects).toEqual([{ id: second, displayName: seeded[1].displayName, jobTitle: seeded[1].jobTitle }]);

    await call('DELETE', `/users/${created}`);
    expect((await call('DELETE', `/directory/deletedItems/${created}`)).status).toBe(204);
    expect((await call('POST', `/directory/deletedItems/${created}/restore`)).status).toBe(404);
    const round3 = await readDelta(round2.deltaLink);
    expect(round3.objects).toEqual([{ id: created, '@removed': { reason: 'deleted' } }]);
  });

  it('does not lose an object that changes while a round is being paged', async () => {
    const { call, readDelta } = await start({ seedUsers: 6, pageSize: 2 });
    const page1 = await call('GET', '/users/delta?$select=displayName');
    const all = (await call('GET', '/users?$select=displayName')).json.value.map((u: any) => u.id as string);
    const last = all.at(-1)!;
    await call('PATCH', `/users/${last}`, { displayName: 'Renamed mid-round' });
    const rest = await readDelta(page1.json['@odata.nextLink']);
    const seen = [...page1.json.value, ...rest.objects];
    expect(new Set(seen.map((u) => u.id))).toEqual(new Set(all));
    expect(seen.find((u) => u.id === last).displayName).toBe('Renamed mid-round');
  });

  it('reports group members: all on a full read, split over pages beyond the member limit, changes afterwards', async () => {
    const { call, readDelta, createUser, addMember } = await start({ memberLimit: 2, pageSize: 10 });
    const users = [];
    for (const name of ['Ann', 'Ben', 'Cat', 'Dan', 'Eve']) users.push(await createUser(name));
    const group = (await call('POST', '/groups', { displayName: 'Crew', description: 'All crew' })).json.id as string;
    for (const user of users) await addMember(group, user);
    const other = (await call('POST', '/groups', { displayName: 'Empty' })).json.id as string;

    const full = await readDelta('/groups/delta?$select=displayName,description,members');
    const crewPages = full.pages.filter((page) => page.some((g) => g.id === group));
    expect(crewPages).toHaveLength(3);
    const crewMembers = full.objects.filter((g) => g.id === group).flatMap((g) => g['members@delta']);
    expect(crewMembers.map((m: any) => m.id).sort()).toEqual([...users].sort());
    expect(crewMembers.every((m: any) => m['@odata.type'] === '#microsoft.graph.user' && !m['@removed'])).toBe(true);
    expect(full.objects.find((g) => g.id === other)).toEqual({ id: other, displayName: 'Empty', description: null });

    await call('DELETE', `/groups/${group}/members/${users[0]}/$ref`);
    const added = await createUser('Fay');
    await addMember(group, added);
    const round = await readDelta(full.deltaLink);
    // Only the membership changed: the group's entry carries no other property.
    expect(round.objects).toEqual([
      {
        id: group,
        'members@delta': [
          { '@odata.type': '#microsoft.graph.user', id: users[0], '@removed': { reason: 'deleted' } },
          { '@odata.type': '#microsoft.graph.user', id: added },
        ],
      },
    ]);

    // A soft-deleted user leaves the group; restoring brings the membership back.
    await call('DELETE', `/users/${users[1]}`);
    const afterDelete = await readDelta(round.deltaLink);
    expect(afterDelete.objects[0]['members@delta']).toEqual([
      { '@odata.type': '#microsoft.graph.user', id: users[1], '@removed': { reason: 'deleted' } },
    ]);
    await call('POST', `/directory/deletedItems/${users[1]}/restore`);
    const afterRestore = await readDelta(afterDelete.deltaLink);
    expect(afterRestore.objects[0]['members@delta']).toEqual([{ '@odata.type': '#microsoft.graph.user', id: users[1] }]);
  });

  it('starts from now with $deltatoken=latest', async () => {
    const { call, readDelta, createUser } = await start({ seedUsers: 5 });
    const latest = await call('GET', '/users/delta?$select=displayName&$deltatoken=latest');
    expect(latest.status).toBe(200);
    expect(latest.json.value).toEqual([]);
    const id = await createUser('Gus');
    const round = await readDelta(latest.json['@odata.deltaLink']);
    expect(round.objects).toEqual([{ id, displayName: 'Gus' }]);
  });

  it('answers 410 Gone with resyncRequired and a Location for expired tokens', async () => {
    const clock = new FakeClock();
    const { directory, call, readDelta } = await start({ seedUsers: 2, clock, tokenRetentionMs: 60_000 });
    const { deltaLink } = await readDelta('/users/delta?$select=displayName');

    clock.advance(61_000);
    const old = await call('GET', deltaLink);
    expect(old.status).toBe(410);
    expect(old.json.error.code).toBe('resyncRequired');
    expect(old.headers.get('location')).toBe(`${directory.url}/users/delta?$select=displayName`);

    const fresh = await readDelta(old.headers.get('location')!);
    expect(fresh.objects).toHaveLength(2);
    expect((await call('GET', fresh.deltaLink)).status).toBe(200);
    directory.expireDeltaTokens();
    expect((await call('GET', fresh.deltaLink)).status).toBe(410);
    expect((await call('GET', '/users/delta?$deltatoken=not-a-token')).status).toBe(400);
  });

  it('serves a 10,000-user directory', async () => {
    const { call, readDelta } = await start({ seedUsers: 10_000, seedGroups: 3, pageSize: 999 });
    const full = await readDelta('/users/delta?$select=userPrincipalName');
    expect(new Set(full.objects.map((u) => u.userPrincipalName)).size).toBe(10_000);
    const groups = await readDelta('/groups/delta?$select=displayName,members');
    const members = groups.objects.flatMap((g) => g['members@delta'] ?? []);
    // The seed puts department k's users (every sixth, from k) into group k: departments 0 to 2 here.
    const expected = Array.from({ length: 10_000 }, (_, i) => i).filter((i) => i % 6 < 3).length;
    expect(new Set(members.map((m: any) => m.id)).size).toBe(expected);
    expect((await call('GET', full.deltaLink)).json.value).toEqual([]);
  });
});

describe('local directory: delta entries of updated objects', () => {
  it('carries only the selected properties changed since the deltaLink, null for a cleared one; new objects whole', async () => {
    const { call, readDelta, createUser } = await start({ seedUsers: 3 });
    const select = '/users/delta?$select=displayName,jobTitle,department,mobilePhone';
    const full = await readDelta(select);
    for (const user of full.objects) expect(Object.keys(user).sort()).toEqual(['department', 'displayName', 'id', 'jobTitle', 'mobilePhone']);
    const plain = await readDelta('/users/delta');
    const [a, b, c] = full.objects.map((u) => u.id as string);

    await call('PATCH', `/users/${a}`, { jobTitle: 'Pilot' });
    await call('PATCH', `/users/${a}`, { department: null, mobilePhone: full.objects[0].mobilePhone });
    await call('PATCH', `/users/${b}`, { city: 'Oslo' });
    await call('PATCH', `/users/${c}`, { jobTitle: full.objects[2].jobTitle });
    const created = await createUser('Nora', { jobTitle: 'Analyst' });
    await call('PATCH', `/users/${created}`, { department: 'Sales' });

    const round = await readDelta(full.deltaLink);
    expect(round.objects).toHaveLength(3);
    // Two updates: the union of what changed, with current values; mobilePhone was set to what it was.
    expect(round.objects).toContainEqual({ id: a, jobTitle: 'Pilot', department: null });
    // Only a property outside $select changed: the entry is the id alone. A PATCH that changed nothing is no change.
    expect(round.objects).toContainEqual({ id: b });
    expect(round.objects).toContainEqual({ id: created, displayName: 'Nora', jobTitle: 'Analyst', department: 'Sales', mobilePhone: null });
    // Without $select, Graph's default property set is what changes are reported from.
    expect((await readDelta(plain.deltaLink)).objects).toContainEqual({ id: a, jobTitle: 'Pilot' });

    await call('PATCH', `/users/${a}`, { displayName: 'Renamed' });
    expect((await readDelta(round.deltaLink)).objects).toEqual([{ id: a, displayName: 'Renamed' }]);
  });

  it('reports an object changed during a round where it stood, with all its changes, and again in the next round', async () => {
    const { call, readDelta } = await start({ seedUsers: 6, pageSize: 2 });
    const full = await readDelta('/users/delta?$select=displayName,jobTitle');
    const ids = full.objects.map((u) => u.id as string);
    for (const id of ids) await call('PATCH', `/users/${id}`, { jobTitle: `Title ${id.slice(0, 4)}` });

    const page1 = await call('GET', full.deltaLink);
    expect(page1.json.value).toEqual(ids.slice(0, 2).map((id) => ({ id, jobTitle: `Title ${id.slice(0, 4)}` })));
    const [passed, ahead] = [ids[0]!, ids[5]!];
    await call('PATCH', `/users/${passed}`, { displayName: 'Passed, renamed' });
    await call('PATCH', `/users/${ahead}`, { displayName: 'Ahead, renamed' });
    const rest = await readDelta(page1.json['@odata.nextLink']);
    expect(rest.objects.map((u) => u.id)).toEqual(ids.slice(2));
    expect(rest.objects.at(-1)).toEqual({ id: ahead, displayName: 'Ahead, renamed', jobTitle: `Title ${ahead.slice(0, 4)}` });

    const next = await readDelta(rest.deltaLink);
    expect(next.objects).toEqual([
      { id: passed, displayName: 'Passed, renamed' },
      { id: ahead, displayName: 'Ahead, renamed' },
    ]);
  });

  it('gives a group update its changed properties next to members@delta, and a restored group whole', async () => {
    const { call, readDelta, createUser, addMember } = await start();
    const ann = await createUser('Ann');
    const ben = await createUser('Ben');
    const team = (await call('POST', '/groups', { displayName: 'Team', description: 'Old', groupTypes: ['Unified'], securityEnabled: false }))
      .json.id as string;
    await addMember(team, ann);
    await addMember(team, ben);
    const full = await readDelta('/groups/delta?$select=displayName,description,members');

    await call('PATCH', `/groups/${team}`, { description: 'New' });
    await call('DELETE', `/groups/${team}/members/${ann}/$ref`);
    const round = await readDelta(full.deltaLink);
    expect(round.objects).toEqual([
      { id: team, description: 'New', 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: ann, '@removed': { reason: 'deleted' } }] },
    ]);

    expect((await call('DELETE', `/groups/${team}`)).status).toBe(204);
    expect((await call('POST', `/directory/deletedItems/${team}/restore`)).status).toBe(200);
    const afterRestore = await readDelta(round.deltaLink);
    expect(afterRestore.objects).toEqual([
      { id: team, displayName: 'Team', description: 'New', 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: ben }] },
    ]);
  });
});

describe('local directory: reads besides delta', () => {
  it('answers 404 for soft- and hard-deleted users and groups, with or without $select', async () => {
    const { call, createUser } = await start();
    const active = await createUser('Ada');
    const soft = await createUser('Sam');
    const hard = await createUser('Hal');
    await call('DELETE', `/users/${soft}`);
    await call('DELETE', `/users/${hard}`);
    await call('DELETE', `/directory/deletedItems/${hard}`);
    const unified = (await call('POST', '/groups', { displayName: 'Unified', groupTypes: ['Unified'] })).json.id as string;
    const security = (await call('POST', '/groups', { displayName: 'Security' })).json.id as string;
    await call('DELETE', `/groups/${unified}`);
    await call('DELETE', `/groups/${security}`);

    expect((await call('GET', `/users/${active}?$select=displayName`)).json).toEqual({
      '@odata.context': expect.stringContaining('$metadata#users/$entity'),
      id: active,
      displayName: 'Ada',
    });
    for (const path of [`/users/${soft}`, `/users/${hard}`, `/groups/${unified}`, `/groups/${security}`]) {
      for (const query of ['', '?$select=displayName', '?$select=id,displayName']) {
        const gone = await call('GET', `${path}${query}`);
        expect(gone.status, `${path}${query}`).toBe(404);
        expect(gone.json.error.code).toBe('Request_ResourceNotFound');
      }
    }
  });

  it('reads a soft-deleted object from deleted items, and answers 404 for any other', async () => {
    const { call, createUser } = await start();
    const active = await createUser('Ada');
    const soft = await createUser('Sam', { jobTitle: 'Pilot' });
    const hard = await createUser('Hal');
    await call('DELETE', `/users/${soft}`);
    await call('DELETE', `/users/${hard}`);
    await call('DELETE', `/directory/deletedItems/${hard}`);
    const unified = (await call('POST', '/groups', { displayName: 'Unified', groupTypes: ['Unified'] })).json.id as string;
    const security = (await call('POST', '/groups', { displayName: 'Security' })).json.id as string;
    await call('DELETE', `/groups/${unified}`);
    await call('DELETE', `/groups/${security}`);

    const user = await call('GET', `/directory/deletedItems/${soft}`);
    expect(user.status).toBe(200);
    expect(user.json).toMatchObject({
      '@odata.context': expect.stringContaining('$metadata#directoryObjects/$entity'),
      '@odata.type': '#microsoft.graph.user',
      id: soft,
      displayName: 'Sam',
      jobTitle: 'Pilot',
      deletedDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect((await call('GET', `/directory/deletedItems/${soft}?$select=id`)).json).toEqual({
      '@odata.context': expect.stringContaining('$metadata#directoryObjects/$entity'),
      '@odata.type': '#microsoft.graph.user',
      id: soft,
    });
    expect((await call('GET', `/directory/deletedItems/${unified}`)).json).toMatchObject({ '@odata.type': '#microsoft.graph.group', id: unified });

    for (const id of [active, hard, security, '00000000-0000-0000-0000-000000000000']) {
      const missing = await call('GET', `/directory/deletedItems/${id}`);
      expect(missing.status, id).toBe(404);
      expect(missing.json.error.code).toBe('Request_ResourceNotFound');
    }
    await call('POST', `/directory/deletedItems/${soft}/restore`);
    expect((await call('GET', `/directory/deletedItems/${soft}`)).status).toBe(404);
  });

  it('counts users and groups as text/plain with ConsistencyLevel eventual, and answers 400 without it', async () => {
    const { call } = await start({ seedUsers: 7, seedGroups: 2 });
    const someone = (await call('GET', '/users?$top=1')).json.value[0].id as string;
    await call('DELETE', `/users/${someone}`);
    const eventual = { ConsistencyLevel: 'eventual' };

    const users = await call('GET', '/users/$count', undefined, eventual);
    expect(users.status).toBe(200);
    expect(users.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(users.text).toBe('6');
    expect((await call('GET', '/groups/$count', undefined, eventual)).text).toBe('2');
    expect((await call('GET', `/users/$count?$filter=department eq 'Sales'`, undefined, eventual)).text).toBe('1');

    const without = await call('GET', '/users/$count');
    expect(without.status).toBe(400);
    expect(without.json.error).toMatchObject({ code: 'Request_BadRequest', message: '$count is not currently supported.' });
    expect((await call('GET', '/groups/$count')).status).toBe(400);
  });
});

async function dataFilePath() {
  const folder = await mkdtemp(path.join(tmpdir(), 'local-directory-'));
  folders.push(folder);
  return path.join(folder, 'data', 'directory.json');
}

describe('local directory: persistence', () => {
  it('keeps objects, memberships and delta positions across a restart, seeding only once', async () => {
    const dataFile = await dataFilePath();

    const first = await start({ dataFile, seedUsers: 4, seedGroups: 2 });
    const id = await first.createUser('Hana');
    const group = (await first.call('GET', '/groups')).json.value[0].id as string;
    await first.addMember(group, id);
    const { deltaLink } = await first.readDelta('/users/delta?$select=displayName');
    await first.call('PATCH', `/users/${id}`, { displayName: 'Hana Renamed' });
    await first.directory.close();
    open.splice(open.indexOf(first.directory), 1);

    const second = await start({ dataFile, seedUsers: 4, seedGroups: 2 });
    expect((await second.call('GET', '/users')).json.value).toHaveLength(5);
    expect((await second.call('GET', `/groups/${group}/members`)).json.value.map((m: any) => m.id)).toContain(id);
    const round = await second.readDelta(second.moved(deltaLink));
    expect(round.objects).toEqual([{ id, displayName: 'Hana Renamed' }]);
  });

  // A crash is simulated by starting a second directory on the file while the first still runs: the first never
  // gets to write anything on a shutdown, as with kill -9.
  it('has every acknowledged change on disk before answering, however many come at once', async () => {
    const dataFile = await dataFilePath();
    const first = await start({ dataFile, seedUsers: 2, seedGroups: 0 });
    const id = await first.createUser('Ida');
    expect((await first.call('PATCH', `/users/${id}`, { jobTitle: 'Pilot' })).status).toBe(204);
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => first.createUser(`Burst${i}`)));

    const afterCrash = await start({ dataFile, seedUsers: 2, seedGroups: 0 });
    expect((await afterCrash.call('GET', `/users/${id}?$select=jobTitle`)).json).toMatchObject({ id, jobTitle: 'Pilot' });
    expect((await afterCrash.call('GET', '/users/$count', undefined, { ConsistencyLevel: 'eventual' })).text).toBe(String(3 + burst.length));
  });

  it('restarted from its file between two delta pages, reports a change made during the round in the next round', async () => {
    const dataFile = await dataFilePath();
    const first = await start({ dataFile, seedUsers: 6, seedGroups: 0, pageSize: 2 });
    const page1 = await first.call('GET', '/users/delta?$select=displayName');
    const passed = page1.json.value[0].id as string;
    await first.call('PATCH', `/users/${passed}`, { displayName: 'Renamed mid-round' });

    const afterCrash = await start({ dataFile, seedUsers: 6, seedGroups: 0, pageSize: 2 });
    const rest = await afterCrash.readDelta(afterCrash.moved(page1.json['@odata.nextLink']));
    expect(new Set([...page1.json.value, ...rest.objects].map((u) => u.id)).size).toBe(6);
    const next = await afterCrash.readDelta(afterCrash.moved(rest.deltaLink));
    expect(next.objects).toEqual([{ id: passed, displayName: 'Renamed mid-round' }]);
  });

  it('keeps what a token means across a crash: a change after the restart is never taken for one the token saw', async () => {
    const dataFile = await dataFilePath();
    const first = await start({ dataFile, seedUsers: 3, seedGroups: 0 });
    const full = await first.readDelta('/users/delta?$select=displayName');
    const [one, two] = full.objects.map((u) => u.id as string);
    await first.call('PATCH', `/users/${one}`, { displayName: 'One' });
    const round = await first.readDelta(full.deltaLink);
    expect(round.objects).toEqual([{ id: one, displayName: 'One' }]);

    const afterCrash = await start({ dataFile, seedUsers: 3, seedGroups: 0 });
    await afterCrash.call('PATCH', `/users/${two}`, { displayName: 'Two' });
    expect((await afterCrash.readDelta(afterCrash.moved(round.deltaLink))).objects).toEqual([{ id: two, displayName: 'Two' }]);
  });

  it('answers 410 to tokens of a directory whose file was deleted and seeded again', async () => {
    const dataFile = await dataFilePath();
    const first = await start({ dataFile, seedUsers: 3, seedGroups: 0 });
    const { deltaLink } = await first.readDelta('/users/delta?$select=displayName');
    await rm(dataFile);

    const reseeded = await start({ dataFile, seedUsers: 3, seedGroups: 0 });
    const old = await reseeded.call('GET', reseeded.moved(deltaLink));
    expect(old.status).toBe(410);
    expect(old.json.error.code).toBe('resyncRequired');
  });

  it('reads a file written before properties were tracked, reporting all selected properties of changed objects', async () => {
    const dataFile = await dataFilePath();
    const first = await start({ dataFile, seedUsers: 2, seedGroups: 0 });
    const full = await first.readDelta('/users/delta?$select=displayName,jobTitle');
    const changed = full.objects[0].id as string;
    await first.call('PATCH', `/users/${changed}`, { jobTitle: 'Pilot' });
    await first.directory.close();
    open.splice(open.indexOf(first.directory), 1);
    const saved = JSON.parse(await readFile(dataFile, 'utf8'));
    saved.version = 1;
    for (const object of saved.objects) {
      delete object.changed;
      delete object.appearedSeq;
    }
    await writeFile(dataFile, JSON.stringify(saved));

    const second = await start({ dataFile, seedUsers: 2, seedGroups: 0 });
    expect((await second.readDelta(second.moved(full.deltaLink))).objects).toEqual([
      { id: changed, displayName: full.objects[0].displayName, jobTitle: 'Pilot' },
    ]);
  });

  it('refuses a data file that contradicts itself instead of answering delta wrongly', async () => {
    const dataFile = await dataFilePath();
    const first = await start({ dataFile, seedUsers: 2, seedGroups: 0 });
    await first.directory.close();
    open.splice(open.indexOf(first.directory), 1);
    const saved = JSON.parse(await readFile(dataFile, 'utf8'));
    saved.sequence -= 1;
    await writeFile(dataFile, JSON.stringify(saved));
    await expect(startLocalDirectory({ dataFile })).rejects.toThrow(/inconsistent/);
  });
});

describe('local directory: applications, managers, nested groups', () => {
  const ROLE = '00000000-0000-0000-0000-000000000000';
  const group = async (call: Awaited<ReturnType<typeof start>>['call'], name: string) =>
    (await call('POST', '/groups', { displayName: name, mailNickname: name.toLowerCase() })).json.id as string;

  it('assigns users and groups to a service principal, with Graph JSON, paging and errors, and keeps them', async () => {
    const dataFile = await dataFilePath();
    const { call, createUser, directory } = await start({ dataFile });
    const sp = (await call('POST', '/servicePrincipals', { appId: '11111111-2222-4333-8444-555555555555', displayName: 'App' })).json;
    expect(sp).toMatchObject({ appId: '11111111-2222-4333-8444-555555555555', displayName: 'App', servicePrincipalType: 'Application' });
    const user = await createUser('Ada');
    const crew = await group(call, 'Crew');
    const assigned = await call('POST', `/servicePrincipals/${sp.id}/appRoleAssignedTo`, { principalId: user, resourceId: sp.id, appRoleId: ROLE });
    expect(assigned.status).toBe(201);
    expect(assigned.json).toMatchObject({ principalId: user, principalType: 'User', resourceId: sp.id, appRoleId: ROLE, principalDisplayName: 'Ada', resourceDisplayName: 'App', deletedDateTime: null });
    expect((await call('POST', `/servicePrincipals/${sp.id}/appRoleAssignedTo`, { principalId: crew, resourceId: sp.id, appRoleId: ROLE })).json.principalType).toBe('Group');

    expect((await call('POST', `/servicePrincipals/${sp.id}/appRoleAssignedTo`, { principalId: user, resourceId: sp.id, appRoleId: ROLE })).status).toBe(409);
    const wrongResource = await call('POST', `/servicePrincipals/${sp.id}/appRoleAssignedTo`, { principalId: user, resourceId: '99999999-2222-4333-8444-555555555555' });
    expect(wrongResource.status).toBe(400);
    expect(wrongResource.json.error.code).toBe('Request_BadRequest');
    expect((await call('POST', `/servicePrincipals/${sp.id}/appRoleAssignedTo`, { principalId: '99999999-2222-4333-8444-555555555555', resourceId: sp.id })).status).toBe(404);
    expect((await call('GET', `/servicePrincipals/99999999-2222-4333-8444-555555555555/appRoleAssignedTo`)).status).toBe(404);

    const first = await call('GET', `/servicePrincipals/${sp.id}/appRoleAssignedTo?$top=1`);
    expect(first.json.value).toHaveLength(1);
    const second = await call('GET', first.json['@odata.nextLink']);
    expect([...first.json.value, ...second.json.value].map((a: any) => a.principalId)).toEqual([user, crew]);
    expect(second.json['@odata.nextLink']).toBeUndefined();

    await directory.close();
    open.splice(open.indexOf(directory), 1);
    const again = await start({ dataFile });
    const kept = await again.call('GET', `/servicePrincipals/${sp.id}/appRoleAssignedTo`);
    expect(kept.json.value.map((a: any) => a.principalId)).toEqual([user, crew]);
    expect((await again.call('DELETE', `/servicePrincipals/${sp.id}/appRoleAssignedTo/${assigned.json.id}`)).status).toBe(204);
    expect((await again.call('GET', `/servicePrincipals/${sp.id}/appRoleAssignedTo/${assigned.json.id}`)).status).toBe(404);
    // A group deleted for good is no longer assigned.
    expect((await again.call('DELETE', `/groups/${crew}`)).status).toBe(204);
    expect((await again.call('GET', `/servicePrincipals/${sp.id}/appRoleAssignedTo`)).json.value).toEqual([]);
  });

  it('reports a manager through manager@delta, $expand and /manager, and clears it when the manager is deleted', async () => {
    const { call, createUser, readDelta } = await start();
    const boss = await createUser('Boss');
    const report = await createUser('Report');
    expect((await call('PUT', `/users/${report}/manager/$ref`, { '@odata.id': `${'http://x'}/users/${boss}` })).status).toBe(204);
    expect((await call('PUT', `/users/${report}/manager/$ref`, { '@odata.id': `http://x/users/${report}` })).status).toBe(400);
    expect((await call('GET', `/users/${report}/manager`)).json).toMatchObject({ id: boss, '@odata.type': '#microsoft.graph.user' });
    expect((await call('GET', `/users/${report}?$expand=manager($select=id)`)).json.manager.id).toBe(boss);
    expect((await call('GET', `/users/${report}`)).json.manager).toBeUndefined();

    const full = await readDelta('/users/delta?$select=displayName,manager');
    const entry = (id: string, objects: any[]) => objects.find((object) => object.id === id);
    expect(entry(report, full.objects)['manager@delta']).toEqual([{ '@odata.type': '#microsoft.graph.user', id: boss }]);
    expect(entry(boss, full.objects)['manager@delta']).toBeUndefined();

    await call('DELETE', `/users/${boss}`);
    const after = await readDelta(full.deltaLink);
    expect(entry(report, after.objects)).toEqual({ id: report, 'manager@delta': [{ '@odata.type': '#microsoft.graph.user', id: boss, '@removed': { reason: 'deleted' } }] });
    expect((await call('GET', `/users/${report}/manager`)).status).toBe(404);
  });

  it('walks nested groups transitively, cycles included, and pages delta by Prefer odata.maxpagesize', async () => {
    const { call, createUser, addMember, readDelta } = await start();
    const [top, middle, bottom] = [await group(call, 'Top'), await group(call, 'Middle'), await group(call, 'Bottom')];
    const [a, b, c] = [await createUser('A'), await createUser('B'), await createUser('C')];
    for (const [parent, member] of [[top, a], [top, middle], [middle, b], [middle, bottom], [bottom, c], [bottom, top]] as const) {
      expect((await addMember(parent, member)).status).toBe(204);
    }
    expect((await addMember(top, top)).status).toBe(404);
    const ids = (reply: Reply) => reply.json.value.map((object: any) => object.id).sort();
    expect(ids(await call('GET', `/groups/${top}/transitiveMembers/microsoft.graph.user`))).toEqual([a, b, c].sort());
    expect(ids(await call('GET', `/groups/${bottom}/transitiveMemberOf/microsoft.graph.group`))).toEqual([top, middle].sort());
    expect(ids(await call('GET', `/users/${c}/transitiveMemberOf/microsoft.graph.group`))).toEqual([top, middle, bottom].sort());

    const groups = await call('GET', '/groups/delta?$select=displayName,members', undefined, { prefer: 'odata.maxpagesize=2' });
    expect(groups.headers.get('preference-applied')).toBe('odata.maxpagesize=2');
    expect(groups.json.value).toHaveLength(2);
    expect(groups.json.value.flatMap((object: any) => object['members@delta'] ?? []).some((member: any) => member['@odata.type'] === '#microsoft.graph.group')).toBe(true);
    const rest = await readDelta(groups.json['@odata.nextLink']);
    expect(rest.objects).toHaveLength(1);
  });
});
