import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SERVICE_PRINCIPAL_ID } from '../../local/directory/demo-seed.ts';
import type { CliIo } from '../../cli/context.ts';
import { runCli } from '../../cli/main.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** The URLs the tool asked for. */
  requests: string[];
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** What the tool's sleep does (a watch's or a follow's pause between reads); nothing by default. */
  sleep?: CliIo['sleep'];
  signal?: AbortSignal;
  tty?: boolean;
}

/** The tool in-process, with captured output; its token is issued with the harness's key unless env gives one. */
async function cli(argv: string[], options: RunOptions = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const requests: string[] = [];
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty, columns: options.tty ? 200 : undefined },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? { LOCAL_DATA_DIR: h.dataDir },
    fetch: (url, init) => {
      requests.push(url);
      return fetch(url, init);
    },
    now: () => Date.now(),
    sleep: options.sleep ?? (async () => undefined),
    signal: options.signal,
  });
  return { code, stdout, stderr, requests };
}

let h: SyncHarness;
/** The global options that point the tool at the harness's stack and the demo app. */
let local: string[];

beforeAll(async () => {
  h = await startSyncHarness({ servicePrincipalId: DEMO_SERVICE_PRINCIPAL_ID });
  local = ['--url', h.stack.apiUrl];
});

afterAll(async () => {
  await h?.close();
});

describe('graph-sync against the local stack', () => {
  it('creates, lists, gets, pauses, starts, restarts and deletes a job', async () => {
    const created = await cli([...local, 'jobs', 'create', '--interval', 'PT1M']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const jobId = created.stdout.trim();
    expect(jobId).toMatch(/^scim\.[0-9a-f]{32}\./);
    expect(created.requests).toEqual([`${h.stack.apiUrl}/servicePrincipals/${DEMO_SERVICE_PRINCIPAL_ID}/synchronization/jobs`]);

    const listed = await cli([...local, 'jobs', 'list']);
    expect(listed.code).toBe(0);
    const [header, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +TEMPLATE +STATUS +INTERVAL +LAST EXECUTION$/);
    expect(rows.find((row) => row.startsWith(jobId))).toMatch(new RegExp(`^${jobId.replace(/\./g, '\\.')} +scim +NotConfigured +PT1M +-$`));

    const got = await cli([...local, 'jobs', 'get', jobId]);
    expect(got.code).toBe(0);
    expect(got.stdout).toContain(`id            ${jobId}`);
    expect(got.stdout).toContain('schedule      Disabled, every PT1M');
    // Global options after the command work too, and --json prints the API's job.
    const json = await cli(['jobs', 'get', jobId, '--json', ...local]);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: jobId, templateId: 'scim', status: { code: 'NotConfigured' } });

    await h.putSecrets(h.scim.url, h.scimToken, false);
    for (const [command, done] of [['pause', 'paused'], ['start', 'started']] as const) {
      expect(await cli([...local, 'jobs', command, jobId])).toMatchObject({ code: 0, stdout: `${done} ${jobId}\n`, stderr: '' });
    }
    expect((await h.getJob(jobId)).schedule.state).toBe('Active');
    const restarted = await cli([...local, 'jobs', 'restart', jobId, '--scope', 'watermark,Escrows']);
    expect(restarted).toMatchObject({ code: 0, stdout: `restarted ${jobId} (Watermark, Escrows)\n` });
    h.discardTriggered();

    expect(await cli([...local, 'jobs', 'delete', jobId])).toMatchObject({ code: 0, stdout: `deleted ${jobId}\n` });
    expect((await h.api('GET', `/jobs/${jobId}`)).status).toBe(404);
  });

  it('sets secrets without printing their values', async () => {
    const result = await cli([...local, '--sp', 'a1b2c3d4-0000-4000-8000-00000000c11a', 'secrets', 'set', `BaseAddress=${h.scim.url}`, 'SecretToken=s3cr3t-value=with-equals']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('set BaseAddress, SecretToken for service principal a1b2c3d4-0000-4000-8000-00000000c11a\n');
    expect(result.stdout).not.toContain('s3cr3t');

    const malformed = await cli([...local, 'secrets', 'set', 'BaseAddress=x', 'just-a-secret']);
    expect(malformed).toMatchObject({ code: 2, stdout: '', stderr: 'graph-sync: argument 2 is not KEY=VALUE\n' });
    expect(malformed.requests).toEqual([]);
  });

  it('prints a Graph error as one line and exits 1', async () => {
    const result = await cli([...local, 'jobs', 'get', 'scim.00000000000000000000000000000000.nope']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^graph-sync: Request_ResourceNotFound: Resource 'scim\.0+\.nope' does not exist[^\n]*\n$/);
  });

  it('refuses a non-loopback URL without GRAPH_SYNC_TOKEN before any request, and names a local API that is down', async () => {
    const remote = await cli(['--url', 'https://sync.example.com/v1.0', 'jobs', 'list'], { env: {} });
    expect(remote).toMatchObject({ code: 1, stdout: '', requests: [] });
    expect(remote.stderr).toBe(
      'graph-sync: set GRAPH_SYNC_TOKEN to a bearer token for https://sync.example.com (a local token is issued only for a loopback --url)\n',
    );
    const down = await cli(['--url', 'http://127.0.0.1:1/v1.0', 'jobs', 'list']);
    expect(down).toMatchObject({ code: 1, stderr: 'graph-sync: cannot reach http://127.0.0.1:1/v1.0 (is npm start running?)\n' });
  });

  it('lists over the https listener, and says what to set when the local CA is not trusted', async () => {
    const untrusted = await cli(['--url', h.stack.httpsApiUrl, 'jobs', 'list']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toBe(
      `graph-sync: ${h.stack.httpsApiUrl} has a certificate this process does not trust (UNABLE_TO_VERIFY_LEAF_SIGNATURE): export NODE_EXTRA_CA_CERTS=<the local CA npm start prints>\n`,
    );
    // With the CA trusted (as NODE_EXTRA_CA_CERTS would have it), the same call answers.
    const created: string[] = [];
    for (let i = 0; i < 2; i += 1) created.push((await cli([...local, 'jobs', 'create'])).stdout.trim());
    const agent = new Agent({ connect: { ca: h.stack.caPem } });
    try {
      const requests: string[] = [];
      let stdout = '';
      const code = await runCli(['--url', h.stack.httpsApiUrl, '--json', 'jobs', 'list'], {
        stdout: { write: (text: string) => void (stdout += text) },
        stderr: { write: () => undefined },
        env: { LOCAL_DATA_DIR: h.dataDir },
        fetch: (url, init) => {
          requests.push(url);
          return fetch(url, { ...init, dispatcher: agent } as RequestInit);
        },
        now: () => Date.now(),
        sleep: async () => undefined,
      });
      expect(code).toBe(0);
      expect((JSON.parse(stdout) as { id: string }[]).map((job) => job.id)).toEqual(expect.arrayContaining(created));
      expect(requests).toEqual([`${h.stack.httpsApiUrl}${'/servicePrincipals/'}${DEMO_SERVICE_PRINCIPAL_ID}/synchronization/jobs`]);
    } finally {
      await agent.close();
    }
    for (const job of created) expect((await cli([...local, 'jobs', 'delete', job])).code).toBe(0);
  });

  it('exits 2 on a usage error, with one line', async () => {
    expect(await cli([...local, 'jobs', 'restart', 'x', '--scope', 'Everything'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^graph-sync: option '--scope <flags>' argument 'Everything' is invalid\.[^\n]*\n$/),
    });
    expect(await cli([...local, 'jobs', 'get'])).toMatchObject({ code: 2, stderr: "graph-sync: missing required argument 'job'\n" });
  });

  it('watches a job over the demo directory until steady state', async () => {
    const jobId = (await cli([...local, 'jobs', 'create'])).stdout.trim();
    await cli([...local, 'secrets', 'set', `BaseAddress=${h.scim.url}`, `SecretToken=${h.scimToken}`]);
    await cli([...local, 'jobs', 'start', jobId]);
    // Between two reads of the job, the worker runs what start asked for.
    const watched = await cli([...local, 'watch', jobId, '--until-steady'], { sleep: async () => void (await h.drainTriggered()) });
    expect(watched.code).toBe(0);
    const lines = watched.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('waiting for the first cycle');
    expect(lines.at(-1)).toMatch(/^steady state since \S+Z · in sync: \d+ User, \d+ Group · last cycle Succeeded at \S+: \d+ imported, \d+ exported/);

    // On a terminal the line is rewritten in place, and ends with a newline.
    const tty = await cli([...local, 'watch', jobId, '--until-steady'], { tty: true });
    expect(tty.stdout).toMatch(/^\rsteady state since [^\n]+\x1b\[K\n$/);
    await cli([...local, 'jobs', 'pause', jobId]);
  });

  it('exits 1 from watch --until-steady on quarantine, with its reason', async () => {
    const other = ['--sp', 'a1b2c3d4-0000-4000-8000-00000000c0de'];
    const jobId = (await cli([...local, ...other, 'jobs', 'create'])).stdout.trim();
    await cli([...local, ...other, 'secrets', 'set', `BaseAddress=${h.scim.url}`, 'SecretToken=wrong-token', 'SyncAll=true']);
    await cli([...local, ...other, 'jobs', 'start', jobId]);
    const watched = await cli([...local, ...other, 'watch', jobId, '--until-steady'], { sleep: async () => void (await h.drainTriggered()) });
    expect(watched.code).toBe(1);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toMatch(/^quarantine \(EncounteredQuarantineException\): \S+: .+ · next attempt \S+Z$/);
  });

  it('runs as a command: node bin/graph-sync.mjs --help', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/graph-sync.mjs', '--help']);
    expect(stdout).toMatch(/^Usage: graph-sync \[options\] \[command\]/);
    for (const command of ['jobs', 'secrets', 'logs', 'watch']) expect(stdout).toContain(`  ${command} `);
  });
});

/** Graph's provisioningObjectSummary, as the provisioning logs endpoint returns it. */
function record(at: string, action: string, name: string, failure?: string) {
  return {
    id: `${at}-${name}`,
    activityDateTime: at,
    provisioningAction: action,
    cycleId: 'cycle-1',
    changeId: `change-${name}`,
    sourceIdentity: { id: `id-${name}`, displayName: name, identityType: name.startsWith('Group') ? 'Group' : 'User' },
    targetIdentity: { id: `target-${name}`, displayName: name, identityType: 'urn:ietf:params:scim:schemas:core:2.0:User' },
    provisioningStatusInfo: failure
      ? { status: 'failure', errorInformation: { errorCode: 'SystemForCrossDomainIdentityManagementBadResponse', reason: failure, additionalDetails: null } }
      : { status: 'success', errorInformation: null },
    provisioningSteps: [{ name: 'EntryExportAdd', provisioningStepType: 'export', status: failure ? 'failure' : 'success', description: '', details: {} }],
    modifiedProperties: [{ displayName: 'displayName', oldValue: null, newValue: name }],
  };
}

describe('graph-sync logs against a Graph provisioning logs endpoint', () => {
  let server: Server;
  let base: string;
  /** What the fake endpoint answers next, by call; the query strings it was asked, in order. */
  let answers: ((url: URL) => { status: number; body: unknown })[];
  let asked: URL[];
  const logsCli = (argv: string[], options: RunOptions = {}) => cli(['--url', base, ...argv], { env: { GRAPH_SYNC_TOKEN: 'token' }, ...options });

  beforeAll(async () => {
    server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', base);
      asked.push(url);
      // As a gateway in front of the API answers (API Gateway's own refusals, its throttling's 429, look like this).
      const unauthorized = { status: 401, body: { message: 'Unauthorized' } };
      const notFound = { status: 404, body: { error: { code: 'Request_ResourceNotFound', message: 'Resource not found.' } } };
      const answer = url.pathname === '/v1.0/auditLogs/provisioning' ? answers.shift() : undefined;
      const { status, body } = request.headers.authorization !== 'Bearer token' ? unauthorized : (answer?.(url) ?? notFound);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1.0`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const reset = (...next: typeof answers) => {
    answers = next;
    asked = [];
  };

  it('prints one line per record, newest first, following @odata.nextLink', async () => {
    reset(
      () => ({
        status: 200,
        body: {
          value: [record('2026-03-02T10:00:05.1234567Z', 'update', 'Ada Lovelace'), record('2026-03-02T10:00:04Z', 'create', 'Group Eng')],
          '@odata.nextLink': `${base}/auditLogs/provisioning?$skiptoken=page2`,
        },
      }),
      () => ({ status: 200, body: { value: [record('2026-03-02T10:00:03Z', 'create', 'Grace Hopper', 'The target answered 409: userName is taken.')] } }),
    );
    const result = await logsCli(['logs', 'scim.job']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe(
      [
        '2026-03-02T10:00:05Z  update  success  User  Ada Lovelace',
        '2026-03-02T10:00:04Z  create  success  Group  Group Eng',
        '2026-03-02T10:00:03Z  create  failure  User  Grace Hopper — The target answered 409: userName is taken.',
        '',
      ].join('\n'),
    );
    expect(asked[0]!.searchParams.get('$filter')).toBe("jobId eq 'scim.job'");
    expect(asked[0]!.searchParams.get('$top')).toBe('50');
    expect(asked[1]!.searchParams.get('$skiptoken')).toBe('page2');
  });

  it('asks only for failures with --failures, and stops at --top', async () => {
    reset(() => ({
      status: 200,
      body: {
        value: [record('2026-03-02T10:00:03Z', 'create', 'Grace Hopper', 'refused'), record('2026-03-02T10:00:02Z', 'create', 'Alan Turing', 'refused')],
        '@odata.nextLink': `${base}/auditLogs/provisioning?$skiptoken=more`,
      },
    }));
    const result = await logsCli(['logs', "o'job", '--failures', '--top', '2']);
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(asked).toHaveLength(1);
    expect(asked[0]!.searchParams.get('$filter')).toBe("jobId eq 'o''job' and provisioningStatusInfo/status eq 'failure'");
    expect(asked[0]!.searchParams.get('$top')).toBe('2');
  });

  it('follows: what is there oldest first, then what is newer than the newest seen, until Ctrl-C', async () => {
    reset(
      () => ({ status: 200, body: { value: [record('2026-03-02T10:00:02Z', 'update', 'B'), record('2026-03-02T10:00:01Z', 'create', 'A')] } }),
      () => ({ status: 200, body: { value: [] } }),
      () => ({ status: 200, body: { value: [record('2026-03-02T10:00:04Z', 'delete', 'D'), record('2026-03-02T10:00:03Z', 'disable', 'C')] } }),
    );
    const interrupt = new AbortController();
    let polls = 0;
    const sleep = async () => {
      if (++polls === 3) interrupt.abort();
    };
    const result = await logsCli(['logs', 'scim.job', '--follow'], { sleep, signal: interrupt.signal });
    expect(result.code).toBe(130);
    expect(result.stdout.trimEnd().split('\n').map((line) => line.split('  ')[4])).toEqual(['A', 'B', 'C', 'D']);
    expect(asked.map((url) => url.searchParams.get('$filter'))).toEqual([
      "jobId eq 'scim.job'",
      "jobId eq 'scim.job' and activityDateTime gt 2026-03-02T10:00:02Z",
      "jobId eq 'scim.job' and activityDateTime gt 2026-03-02T10:00:02Z",
    ]);
  });

  it('says in one line that an API without the endpoint has no provisioning logs', async () => {
    reset();
    const result = await logsCli(['logs', 'scim.job']);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(`graph-sync: provisioning logs are not available on this API (GET ${base}/auditLogs/provisioning answered 404)\n`);
  });

  it('sends GRAPH_SYNC_TOKEN, and shows a gateway refusing it in one line', async () => {
    reset(() => ({ status: 200, body: { value: [] } }));
    const result = await logsCli(['logs', 'scim.job'], { env: { GRAPH_SYNC_TOKEN: 'expired' } });
    expect(result).toMatchObject({ code: 1, stdout: '', stderr: 'graph-sync: HTTP 401: Unauthorized\n' });
  });
});
