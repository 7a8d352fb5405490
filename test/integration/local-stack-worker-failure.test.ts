import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLocalToken } from '../../local/local-auth.ts';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { EPHEMERAL_PORTS, syncPath } from '../support/local-stack.ts';

const SP = 'crash-app';
const TARGET_TOKEN = 'target-token';

/** `npm start` as a child process: a crash there is the process exiting, which an in-process test cannot see. */
interface StartedStack {
  child: ChildProcess;
  apiUrl: string;
  output: () => string;
  exited: () => { code: number | null; signal: NodeJS.Signals | null } | null;
}

async function startStackProcess(dataDir: string): Promise<StartedStack> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(EPHEMERAL_PORTS).map(([name, value]) => [name, String(value)])),
      LOCAL_DATA_DIR: dataDir,
      LOCAL_SEED_USERS: '25',
      LOCAL_SEED_GROUPS: '1',
      SCHEDULER_POLL_MS: '60000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.on('exit', (code, signal) => (exit = { code, signal }));
  const apiUrl = await waitFor(() => /Graph API\s+(http:\/\/\S+)/.exec(output)?.[1], () => `the stack did not start:\n${output}`, () => exit !== null);
  return { child, apiUrl, output: () => output, exited: () => exit };
}

async function waitFor<T>(probe: () => T | undefined, failure: () => string, giveUp: () => boolean = () => false, timeoutMs = 45_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (giveUp() || Date.now() > deadline) throw new Error(failure());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let dataDir: string;
let stack: StartedStack;
let scim: LocalScimService;
let token: string;

async function api(method: string, apiPath: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${stack.apiUrl}${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'graph-sync-crash-'));
  scim = await startLocalScimService({ host: '127.0.0.1', port: 0, token: TARGET_TOKEN, recordRequests: true });
  stack = await startStackProcess(dataDir);
  token = await issueLocalToken(dataDir);
});

afterAll(async () => {
  if (stack && stack.exited() === null) {
    stack.child.kill('SIGTERM');
    await waitFor(() => (stack.exited() === null ? undefined : true), () => 'the stack did not stop', () => false, 20_000).catch(() => {
      stack.child.kill('SIGKILL');
    });
  }
  await scim?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start against a target that refuses what the run asks', () => {
  it('provisions anyway, reports it as a run outcome, and keeps serving', async () => {
    const secrets = await api('PUT', syncPath(SP, '/secrets'), {
      value: [
        { key: 'BaseAddress', value: scim.url },
        { key: 'SecretToken', value: TARGET_TOKEN },
        { key: 'SyncAll', value: 'true' },
      ],
    });
    expect(secrets.status).toBe(204);
    const created = await api('POST', syncPath(SP, '/jobs'), { templateId: 'scim' });
    expect(created.status).toBe(201);
    const jobId: string = created.json.id;

    // What AWS IAM Identity Center answers to a listing of its users: the first request of the run fails with 400.
    scim.failNext({ status: 400, scimType: 'invalidValue', detail: 'Listing users is not supported.' });
    expect((await api('POST', syncPath(SP, `/jobs/${jobId}/start`))).status).toBe(204);
    await waitFor(
      () => (scim.resources('Users').length === 25 ? true : undefined),
      () => `the run did not provision the users:\n${stack.output()}`,
      () => stack.exited() !== null,
    );
    expect(scim.requests()[0]).toMatchObject({ method: 'GET', path: expect.stringContaining('startIndex') });
    // The listing refused, the run matched object by object instead.
    expect(scim.requests().some((request) => request.path.includes('filter='))).toBe(true);
    expect(stack.exited(), stack.output()).toBeNull();
    expect(stack.output()).not.toContain('Unhandled');
    expect(stack.output()).not.toContain(TARGET_TOKEN);
    let job: { status: number; json: any } | undefined;
    for (let tries = 0; tries < 100 && job?.json?.status?.code !== 'Active'; tries++) {
      job = await api('GET', syncPath(SP, `/jobs/${jobId}`));
      if (job.json?.status?.code !== 'Active') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(job?.json.status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
  }, 90_000);
});
