import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { issueLocalToken } from '../../local/local-auth.ts';
import { DEMO_SERVICE_PRINCIPAL_ID } from '../../local/directory/demo-seed.ts';

// `npm start` as a user runs it, killed with SIGKILL (its whole process group: npm, tsx, node) in the middle of a
// sync and started again on the same data folder. The SCIM app is reached through a recording proxy in this
// process, which sees every answer the SCIM app gave, so it knows exactly which writes were acknowledged, and
// which kills the stack at the moment an answer arrives, before the job could learn of it.

const SEED_USERS = 2000;
/** Six departments: every user is in one group, so the groups hold SEED_USERS memberships. */
const SEED_GROUPS = 6;
const SCIM_TOKEN = 'local-scim-token';
/** Requests a job has in flight to the SCIM app at once: at most this many creates die unanswered with the stack. */
const SCIM_CONCURRENCY = 8;
const ROOT = path.resolve(import.meta.dirname, '../..');

type Json = Record<string, any>;

/** Polls `probe` until it returns a value other than undefined; fails with `what` at the deadline. */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface StackProcess {
  apiUrl: string;
  directoryUrl: string;
  scimUrl: string;
  /** What it printed so far. */
  output(): string;
  /** SIGKILL to the whole process group; resolves once none of its processes is left. */
  kill(): Promise<void>;
  /** Ctrl-C, as a user stops it. */
  stop(): Promise<void>;
}

/** Process groups of the stacks started and not yet gone. */
const runningGroups = new Set<number>();

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function startStack(dataDir: string): Promise<StackProcess> {
  const child: ChildProcess = spawn('npm', ['start'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      LOCAL_DATA_DIR: dataDir,
      LOCAL_SEED_USERS: String(SEED_USERS),
      LOCAL_SEED_GROUPS: String(SEED_GROUPS),
      HOST: '127.0.0.1',
      PORT: '0',
      HTTPS_PORT: '0',
      DYNAMODB_PORT: '0',
      SOURCE_PORT: '0',
      SCIM_PORT: '0',
      SCHEDULER_PORT: '0',
      LAMBDA_PORT: '0',
      LOGIN_PORT: '0',
      SCIM_CONCURRENCY: String(SCIM_CONCURRENCY),
    },
  });
  const pgid = child.pid!;
  runningGroups.add(pgid);
  let output = '';
  const urls = await new Promise<string[]>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const found = ['Graph API', 'Local directory', 'Local SCIM app'].map((label) => new RegExp(`${label} +(http\\S+)`).exec(output)?.[1]);
      if (found.every((url) => url !== undefined)) resolve(found as string[]);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', () => reject(new Error(`npm start exited before it was up:\n${output}`)));
  });
  const gone = async () => {
    await until('the stack to be gone', () => (groupAlive(pgid) ? undefined : true), 30_000);
    runningGroups.delete(pgid);
  };
  const [apiUrl, directoryUrl, scimUrl] = urls as [string, string, string];
  return {
    apiUrl,
    directoryUrl,
    scimUrl,
    output: () => output,
    kill: async () => {
      if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
      await gone();
    },
    stop: async () => {
      process.kill(-pgid, 'SIGINT');
      await gone();
    },
  };
}

/** What the proxy saw: the writes the SCIM app acknowledged (answered 2xx), and the user creates sent at all. */
interface Traffic {
  users: Map<string, string>; // id → userName
  groups: Map<string, string>; // id → displayName
  members: Set<string>; // `${groupId} ${userId}`
  memberPatches: number;
  userCreatesSent: number;
}

/**
 * A proxy in front of the SCIM app that records every acknowledged create and member add, and calls `onAnswer`
 * with each before passing it on (the test kills the stack there).
 */
async function startRecordingProxy() {
  let upstream = '';
  let onAnswer: (traffic: Traffic) => void = () => undefined;
  const seen: Traffic = { users: new Map(), groups: new Map(), members: new Set(), memberPatches: 0, userCreatesSent: 0 };
  const bodyOf = (stream: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      stream.on('error', reject);
    });
  const record = (method: string, url: string, sent: string, answered: string) => {
    const resource = url.split('?')[0]!.split('/').filter(Boolean);
    const type = resource.at(-1);
    if (method === 'POST' && type === 'Users') {
      const user = JSON.parse(answered) as Json;
      seen.users.set(user.id, user.userName);
    } else if (method === 'POST' && type === 'Groups') {
      const group = JSON.parse(answered) as Json;
      seen.groups.set(group.id, group.displayName);
      for (const member of (JSON.parse(sent) as Json).members ?? []) seen.members.add(`${group.id} ${member.value}`);
    } else if (method === 'PATCH' && resource.at(-2) === 'Groups') {
      const groupId = type!;
      let added = false;
      for (const operation of (JSON.parse(sent) as Json).Operations ?? []) {
        if (String(operation.op).toLowerCase() !== 'add' || operation.path !== 'members') continue;
        for (const member of operation.value ?? []) seen.members.add(`${groupId} ${member.value}`);
        added = true;
      }
      if (added) seen.memberPatches += 1;
    }
  };
  const server: Server = createServer(async (incoming, outgoing) => {
    const sent = await bodyOf(incoming);
    if (incoming.method === 'POST' && incoming.url!.split('?')[0]!.endsWith('/Users')) seen.userCreatesSent += 1;
    const target = new URL(incoming.url!, upstream);
    const forwarded = httpRequest(target, { method: incoming.method, headers: { ...incoming.headers, host: target.host } }, async (answer) => {
      const answered = await bodyOf(answer).catch(() => null);
      if (answered === null) return outgoing.destroy();
      if (answer.statusCode! >= 200 && answer.statusCode! < 300) {
        record(incoming.method!, incoming.url!, sent, answered);
        onAnswer(seen);
      }
      outgoing.writeHead(answer.statusCode!, answer.headers).end(answered);
    });
    // The SCIM app is gone (killed): the caller sees its connection fail, as it would without the proxy.
    forwarded.on('error', () => outgoing.destroy());
    forwarded.end(sent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}/scim/v2`,
    seen,
    /** The SCIM app of the stack now running. */
    forwardTo: (scimUrl: string) => (upstream = new URL(scimUrl).origin),
    /** Calls `kill` (once) with the first answer after which `when` holds. */
    killWhen: (when: (traffic: Traffic) => boolean, kill: () => void) => {
      let fired = false;
      onAnswer = (state) => {
        if (fired || !when(state)) return;
        fired = true;
        kill();
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function scimList(scimUrl: string, type: 'Users' | 'Groups'): Promise<Json[]> {
  const resources: Json[] = [];
  for (;;) {
    const response = await fetch(`${scimUrl}/${type}?startIndex=${resources.length + 1}&count=1000`, {
      headers: { authorization: `Bearer ${SCIM_TOKEN}` },
    });
    expect(response.status).toBe(200);
    const page = (await response.json()) as Json;
    resources.push(...(page.Resources ?? []));
    if (resources.length >= page.totalResults || (page.Resources ?? []).length === 0) return resources;
  }
}

async function graphList(url: string): Promise<Json[]> {
  const values: Json[] = [];
  for (let next: string | undefined = url; next; ) {
    const response = await fetch(next);
    expect(response.status).toBe(200);
    const page = (await response.json()) as Json;
    values.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return values;
}

describe('the local stack killed with SIGKILL mid-sync', () => {
  let dataDir: string | undefined;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>> | undefined;

  afterAll(async () => {
    for (const pgid of runningGroups) if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
    await proxy?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write, and the job converges to the directory after each restart', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'graph-sync-sigkill-'));
    proxy = await startRecordingProxy();
    const jobs = () => `${stack.apiUrl}/servicePrincipals/${DEMO_SERVICE_PRINCIPAL_ID}/synchronization`;
    const api = async (method: string, apiPath: string, body?: unknown) => {
      // Issued by the sign-in of the stack now running: its issuer names that sign-in's (ephemeral) port.
      const token = await issueLocalToken(dataDir!);
      const response = await fetch(`${jobs()}${apiPath}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text === '' ? null : (JSON.parse(text) as Json) };
    };
    /** Every acknowledged account, group and member is in the SCIM app the restarted stack serves. */
    const expectAcknowledgedKept = async () => {
      const users = new Map((await scimList(stack.scimUrl, 'Users')).map((user) => [user.id as string, user]));
      const groups = new Map((await scimList(stack.scimUrl, 'Groups')).map((group) => [group.id as string, group]));
      const lostUsers = [...proxy!.seen.users].filter(([id, userName]) => users.get(id)?.userName !== userName);
      const lostGroups = [...proxy!.seen.groups].filter(([id, displayName]) => groups.get(id)?.displayName !== displayName);
      const present = new Set([...groups.values()].flatMap((group) => (group.members ?? []).map((member: Json) => `${group.id} ${member.value}`)));
      const lostMembers = [...proxy!.seen.members].filter((member) => !present.has(member));
      expect({ lostUsers, lostGroups, lostMembers }).toEqual({ lostUsers: [], lostGroups: [], lostMembers: [] });
    };

    let stack = await startStack(dataDir);
    proxy.forwardTo(stack.scimUrl);
    const created = await api('POST', '/jobs', { templateId: 'scim', schedule: { interval: 'PT1M' } });
    expect(created.status).toBe(201);
    const jobId = created.json!.id as string;
    const secrets = [
      { key: 'BaseAddress', value: proxy.url },
      { key: 'SecretToken', value: SCIM_TOKEN },
      { key: 'SyncAll', value: 'true' },
    ];
    expect((await api('PUT', '/secrets', { value: secrets })).status).toBe(204);

    /** Resolves once the stack is gone, killed at the first acknowledgment after which `when` holds. */
    const killedWhen = (when: (seen: Traffic) => boolean) => {
      const running = stack;
      return new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error('the sync never got to the point of the kill')), 60_000);
        proxy!.killWhen(when, () => {
          clearTimeout(deadline);
          running.kill().then(resolve, reject);
        });
      });
    };
    /** Starts the stack again on the data folder; the job's state as of its last commit is there. */
    const restart = async () => {
      stack = await startStack(dataDir!);
      proxy!.forwardTo(stack.scimUrl);
      await expectAcknowledgedKept();
      // dynalite kept the lease of the run that was killed, and the progress that run had committed.
      expect(stack.output()).toContain('Resuming 1 job run(s) the previous process left unfinished.');
      const progress = (await api('GET', `/jobs/${jobId}`)).json!.status.progress as Json[];
      expect(progress).toEqual([expect.objectContaining({ units: 'objects', totalUnits: SEED_USERS + SEED_GROUPS })]);
      expect(progress[0]!.completedUnits).toBeGreaterThan(0);
    };

    // First kill: mid initial sync, a third of the accounts created.
    const firstKill = killedWhen((seen) => seen.users.size >= SEED_USERS / 3);
    expect((await api('POST', `/jobs/${jobId}/start`)).status).toBe(204);
    await firstKill;
    expect(proxy.seen.users.size).toBeLessThan(SEED_USERS);
    await restart();

    // Second kill: mid membership export. "Sync now" on the restarted stack.
    const secondKill = killedWhen((seen) => seen.memberPatches >= 8);
    expect((await api('POST', `/jobs/${jobId}/start`)).status).toBe(204);
    await secondKill;
    expect(proxy.seen.members.size).toBeLessThan(SEED_USERS);
    await restart();

    const restartedAt = new Date().toISOString();
    expect((await api('POST', `/jobs/${jobId}/start`)).status).toBe(204);
    const status = await until(
      'the job to reach steady state after the last restart',
      async () => {
        const job = await api('GET', `/jobs/${jobId}`);
        return job.json!.status.steadyStateLastAchievedTime > restartedAt ? (job.json!.status as Json) : undefined;
      },
      60_000,
    );

    // The target equals the directory: every user once, by userName and by externalId, every group, every member.
    const sourceUsers = await graphList(`${stack.directoryUrl}/users?$select=id,userPrincipalName,mailNickname&$top=999`);
    const sourceGroups = await graphList(`${stack.directoryUrl}/groups?$select=id,displayName&$top=999`);
    const users = await scimList(stack.scimUrl, 'Users');
    const groups = await scimList(stack.scimUrl, 'Groups');
    expect(sourceUsers).toHaveLength(SEED_USERS);
    expect(users.map((user) => user.userName).sort()).toEqual(sourceUsers.map((user) => user.userPrincipalName).sort());
    expect(users.map((user) => user.externalId).sort()).toEqual(sourceUsers.map((user) => user.mailNickname).sort());
    expect(groups.map((group) => group.displayName).sort()).toEqual(sourceGroups.map((group) => group.displayName).sort());
    expect(groups.map((group) => group.externalId).sort()).toEqual(sourceGroups.map((group) => group.id).sort());
    const accountOf = new Map(users.map((user) => [user.userName as string, user.id as string]));
    for (const sourceGroup of sourceGroups) {
      const sourceMembers = await graphList(`${stack.directoryUrl}/groups/${sourceGroup.id}/members?$select=userPrincipalName&$top=999`);
      const target = groups.find((group) => group.displayName === sourceGroup.displayName)!;
      const members = (target.members ?? []).map((member: Json) => member.value as string);
      expect(members.sort(), sourceGroup.displayName).toEqual(sourceMembers.map((member) => accountOf.get(member.userPrincipalName)).sort());
    }
    await expectAcknowledgedKept();
    // Each account was created once: no create was sent again but those the kills left unanswered.
    expect(proxy.seen.users.size).toBeLessThanOrEqual(SEED_USERS);
    expect(proxy.seen.userCreatesSent).toBeLessThanOrEqual(SEED_USERS + 2 * SCIM_CONCURRENCY);
    // The object types' counts (read-back counts, when a read-back ran, follow them).
    expect(status.synchronizedEntryCountByType.filter((entry: Json) => entry.key === 'User' || entry.key === 'Group')).toEqual([
      { key: 'User', value: users.length },
      { key: 'Group', value: groups.length },
    ]);
    await stack.stop();
  }, 240_000);
});
