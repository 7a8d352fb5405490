import { spawn, type ChildProcess } from 'node:child_process';
import { appendFile, mkdtemp, open, readFile, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';

const token = 'durability-test-token';
const userSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';
const groupSchema = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const patchSchema = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Json = Record<string, any>;

const user = (userName: string, extra: Json = {}): Json => ({ schemas: [userSchema], userName, active: true, ...extra });
const group = (displayName: string, extra: Json = {}): Json => ({ schemas: [groupSchema], displayName, ...extra });
const patchOp = (...Operations: Json[]): Json => ({ schemas: [patchSchema], Operations });

async function call(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Json | null }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : (JSON.parse(text) as Json) };
}

async function expectStatus(status: number, baseUrl: string, method: string, path: string, body?: unknown): Promise<Json> {
  const answer = await call(baseUrl, method, path, body);
  expect(answer.status, `${method} ${path}`).toBe(status);
  return answer.body ?? {};
}

/** A service's resources as stored: `meta.location` carries the port, which differs from one start to the next. */
function stored(service: LocalScimService, endpoint: 'Users' | 'Groups'): Json[] {
  return service.resources(endpoint).map(({ meta: { location: _location, ...meta }, ...resource }: Json) => ({ ...resource, meta }));
}

/** The service in a process of its own, so that it can die by SIGKILL as `kill -9` kills it: no close, no flush. */
interface ServiceProcess {
  url: string;
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();

async function startServiceProcess(dataFile: string): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/scim-service-process.ts', dataFile, token], {
    cwd: resolve(import.meta.dirname, '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /^SCIM (\S+)$/m.exec(output);
      if (match) done(match[1] as string);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', () => fail(new Error(`the SCIM service process exited before listening:\n${output}`)));
  });
  return {
    url,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
      running.delete(child);
    },
  };
}

describe('local SCIM service durability', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'scim-durability-'));
  });

  afterEach(() => {
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('answers writes only once the journal holding them is fsynced, one fsync for all that waited', async () => {
    const dataFile = join(folder, 'fsync', 'scim.json');
    const service = await startLocalScimService({ token, dataFile });
    const probe = await open(join(folder, 'probe'), 'w');
    const fileHandle = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const datasync = fileHandle.datasync;
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const syncs = vi.spyOn(fileHandle, 'datasync').mockImplementation(async function (this: FileHandle) {
      await held;
      return datasync.call(this);
    });
    try {
      const first = call(service.url, 'POST', '/Users', user('ada@contoso.com'));
      await vi.waitFor(() => expect(syncs).toHaveBeenCalledTimes(1));
      const waiting = ['bob', 'carl', 'dora', 'emil'].map((name) => call(service.url, 'POST', '/Users', user(`${name}@contoso.com`)));
      await vi.waitFor(async () => expect(await readFile(`${dataFile}.journal`, 'utf8')).toContain('ada@contoso.com'));
      const unanswered = Symbol('unanswered');
      const raced = await Promise.race([first, new Promise((resolve) => setTimeout(() => resolve(unanswered), 300))]);
      expect(raced).toBe(unanswered);

      release();
      expect((await first).status).toBe(201);
      expect((await Promise.all(waiting)).map((answer) => answer.status)).toEqual([201, 201, 201, 201]);
      expect(syncs).toHaveBeenCalledTimes(2);
    } finally {
      release();
      syncs.mockRestore();
      await service.close();
    }
  });

  it('holds every answered write for a service started on the data file after kill -9', async () => {
    const dataFile = join(folder, 'answered', 'scim.json');
    const first = await startServiceProcess(dataFile);
    const ada = await expectStatus(201, first.url, 'POST', '/Users', user('ada@contoso.com', { externalId: 'ada' }));
    const bob = await expectStatus(201, first.url, 'POST', '/Users', user('bob@contoso.com'));
    const carl = await expectStatus(201, first.url, 'POST', '/Users', user('carl@contoso.com'));
    const team = await expectStatus(201, first.url, 'POST', '/Groups', group('Team', { members: [{ value: ada.id }, { value: bob.id }] }));
    await expectStatus(200, first.url, 'PUT', `/Users/${ada.id}`, user('ada@contoso.com', { externalId: 'ada', displayName: 'Ada L.' }));
    await expectStatus(200, first.url, 'PATCH', `/Users/${carl.id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    await expectStatus(204, first.url, 'PATCH', `/Groups/${team.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value: carl.id }] }));
    await expectStatus(204, first.url, 'DELETE', `/Users/${bob.id}`);
    await first.kill();

    const second = await startLocalScimService({ token, dataFile });
    try {
      const users = new Map(stored(second, 'Users').map((resource) => [resource.id, resource]));
      expect([...users.keys()].sort()).toEqual([ada.id, carl.id].sort());
      expect(users.get(ada.id)).toMatchObject({ userName: 'ada@contoso.com', displayName: 'Ada L.' });
      expect(users.get(carl.id)).toMatchObject({ active: false });
      // Deleting bob took him out of the group as well.
      expect(stored(second, 'Groups')).toEqual([expect.objectContaining({ id: team.id, members: [{ value: ada.id }, { value: carl.id }] })]);
      // The indexes are rebuilt too: uniqueness and the externalId filter.
      await expectStatus(409, second.url, 'POST', '/Users', user('ADA@contoso.com'));
      const byExternalId = await expectStatus(200, second.url, 'GET', `/Users?filter=${encodeURIComponent('externalId eq "ada"')}`);
      expect(byExternalId.totalResults).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('holds every one of many concurrent writes answered before kill -9', async () => {
    const dataFile = join(folder, 'concurrent', 'scim.json');
    const first = await startServiceProcess(dataFile);
    const answered: string[] = [];
    let dead = false;
    const writers = Array.from({ length: 32 }, async (_, writer) => {
      for (let index = 0; !dead; index += 1) {
        try {
          const answer = await call(first.url, 'POST', '/Users', user(`w${writer}-${index}@contoso.com`));
          if (answer.status === 201) answered.push(answer.body?.id as string);
        } catch {
          return; // the connection died with the process
        }
      }
    });
    while (answered.length < 1500) await new Promise((resolve) => setTimeout(resolve, 5));
    // Killed while writers are mid-request: some writes are in memory and not yet answered.
    await first.kill();
    dead = true;
    await Promise.all(writers);

    const second = await startLocalScimService({ token, dataFile });
    try {
      const ids = new Set(stored(second, 'Users').map((resource) => resource.id as string));
      expect(answered.length).toBeGreaterThanOrEqual(1500);
      expect(answered.filter((id) => !ids.has(id))).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('ignores a torn last journal line, and what is written after it survives the next kill', async () => {
    const dataFile = join(folder, 'torn', 'scim.json');
    const first = await startServiceProcess(dataFile);
    for (const name of ['ada', 'bob', 'carl']) await expectStatus(201, first.url, 'POST', '/Users', user(`${name}@contoso.com`));
    await first.kill();
    const journal = `${dataFile}.journal`;
    const lines = (await readFile(journal, 'utf8')).split('\n');
    expect(lines).toHaveLength(4); // three records, each ending in a newline
    // What a crash in the middle of an append leaves: the first part of the next record.
    await appendFile(journal, (lines[2] as string).replace('"sequence":3', '"sequence":4').slice(0, 60));

    const second = await startServiceProcess(dataFile);
    const listed = await expectStatus(200, second.url, 'GET', '/Users');
    expect(listed.Resources.map((resource: Json) => resource.userName)).toEqual(['ada@contoso.com', 'bob@contoso.com', 'carl@contoso.com']);
    await expectStatus(201, second.url, 'POST', '/Users', user('dora@contoso.com'));
    await second.kill();

    const third = await startLocalScimService({ token, dataFile });
    try {
      expect(stored(third, 'Users').map((resource) => resource.userName)).toEqual([
        'ada@contoso.com',
        'bob@contoso.com',
        'carl@contoso.com',
        'dora@contoso.com',
      ]);
    } finally {
      await third.close();
    }
  });

  it('folds a journal past its bound into the data file while serving, and keeps everything', async () => {
    const dataFile = join(folder, 'compaction', 'scim.json');
    const bound = 16 * 1024;
    const first = await startLocalScimService({ token, dataFile, compactJournalBytes: bound });
    const ids: string[] = [];
    for (let index = 0; index < 300; index += 1) {
      ids.push((await expectStatus(201, first.url, 'POST', '/Users', user(`u${index}@contoso.com`, { externalId: `e${index}` }))).id);
    }
    const team = await expectStatus(201, first.url, 'POST', '/Groups', group('Everyone'));
    for (let start = 0; start < ids.length; start += 50) {
      const members = ids.slice(start, start + 50).map((value) => ({ value }));
      await expectStatus(204, first.url, 'PATCH', `/Groups/${team.id}`, patchOp({ op: 'add', path: 'members', value: members }));
    }
    for (const id of ids.slice(0, 30)) await expectStatus(200, first.url, 'PUT', `/Users/${id}`, user(`renamed-${id}@contoso.com`));
    for (const id of ids.slice(30, 60)) await expectStatus(204, first.url, 'DELETE', `/Users/${id}`);

    const saved = JSON.parse(await readFile(dataFile, 'utf8')) as Json;
    expect(saved.journalSequence).toBeGreaterThan(0);
    const dataFileBytes = (await stat(dataFile)).size;
    expect((await stat(`${dataFile}.journal`)).size).toBeLessThan(Math.max(bound, dataFileBytes) + 4096);

    // Started on what is on disk while the first still runs, as after a kill -9.
    const second = await startLocalScimService({ token, dataFile });
    try {
      expect(stored(second, 'Users')).toHaveLength(270);
      expect(stored(second, 'Users')).toEqual(stored(first, 'Users'));
      expect(stored(second, 'Groups')).toEqual(stored(first, 'Groups'));
      expect(stored(second, 'Groups')[0]?.members).toHaveLength(270);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('starts equal after a compaction, also when a crash left the journal it had folded in', async () => {
    const dataFile = join(folder, 'restart', 'scim.json');
    const first = await startServiceProcess(dataFile);
    const ada = await expectStatus(201, first.url, 'POST', '/Users', user('ada@contoso.com'));
    await expectStatus(201, first.url, 'POST', '/Groups', group('Team', { members: [{ value: ada.id }] }));
    // The same userName again under a new id: replayed twice, the first create would collide with the second.
    await expectStatus(204, first.url, 'DELETE', `/Users/${ada.id}`);
    await expectStatus(201, first.url, 'POST', '/Users', user('ada@contoso.com', { displayName: 'Ada again' }));
    await first.kill();
    const journal = await readFile(`${dataFile}.journal`, 'utf8');

    const second = await startLocalScimService({ token, dataFile });
    const users = stored(second, 'Users');
    const groups = stored(second, 'Groups');
    await second.close();
    expect(await readFile(`${dataFile}.journal`, 'utf8')).toBe('');
    expect(JSON.parse(await readFile(dataFile, 'utf8'))).toMatchObject({ journalSequence: 4, Users: users, Groups: groups });

    const third = await startLocalScimService({ token, dataFile });
    try {
      expect(stored(third, 'Users')).toEqual(users);
      expect(stored(third, 'Groups')).toEqual(groups);
    } finally {
      await third.close();
    }

    // A crash between writing the data file and emptying the journal leaves records the data file holds already.
    await writeFile(`${dataFile}.journal`, journal);
    const fourth = await startLocalScimService({ token, dataFile });
    try {
      expect(stored(fourth, 'Users')).toEqual(users);
      expect(stored(fourth, 'Groups')).toEqual(groups);
      expect(users).toEqual([expect.objectContaining({ userName: 'ada@contoso.com', displayName: 'Ada again' })]);
    } finally {
      await fourth.close();
    }
  });
});
