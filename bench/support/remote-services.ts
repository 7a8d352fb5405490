/**
 * The worker's side of a benchmark whose services run in another process (services-process.ts): starts that
 * process, points this process's environment at it as the local stack would, and runs the real worker handler
 * here (`runJob`), so what this process spends is the worker's own share, or gives that environment to a worker
 * process of its own (bundled-worker.ts). Continuations the worker asks for are queued for the benchmark to run,
 * one invocation after the other.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SyncTick } from '../../functions/schemas/sync-tick.ts';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startLambdaEndpoint } from '../../local/lambda-endpoint.ts';

export interface ServicesOptions {
  users: number;
  groups: number;
  /** Members of each group, by index (see seedDemoDirectory). */
  groupSizes?: number[];
  /** Both SCIM services answer 429 with Retry-After above this many requests per second (a token bucket). */
  targetRate?: number;
}

export type ServicesRequest = { id: number; kind: 'counts' | 'usage' | 'expireDeltaTokens' | 'close' };
export type ServicesReply = Record<string, number>;
interface Ready {
  apiUrl: string;
  directoryUrl: string;
  scimUrl: string;
  rawScimUrl: string;
  scimToken: string;
  token: string;
  env: Record<string, string>;
}

/** Starts the services process and readies this one to run the worker against it. */
export async function startRemoteServices(options: ServicesOptions) {
  // Explicit execArgv: a profiler flag given to this process (`node --cpu-prof`) stays with the worker.
  const child: ChildProcess = fork(fileURLToPath(new URL('./services-process.ts', import.meta.url)), [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN' },
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the services process exited (${code}) before it was ready`)));
    child.on('message', (message: { ready?: Ready }) => {
      if (message.ready) resolve(message.ready);
    });
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (reply: ServicesReply) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { id?: number; reply?: ServicesReply; error?: string }) => {
    const entry = message.id === undefined ? undefined : waiting.get(message.id);
    if (!entry) return;
    waiting.delete(message.id!);
    if (message.error) entry.reject(new Error(message.error));
    else entry.resolve(message.reply!);
  });
  const ask = (kind: ServicesRequest['kind']) =>
    new Promise<ServicesReply>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ id, kind } satisfies ServicesRequest);
    });

  const triggered: unknown[] = [];
  const capture = await startLambdaEndpoint({
    host: '127.0.0.1',
    port: 0,
    functions: { 'sync-job': async (payload) => void triggered.push(payload) },
    onError: () => undefined,
  });
  Object.assign(process.env, ready.env, {
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    LAMBDA_ENDPOINT: capture.url,
    JOB_PURGE_SETTLE_SECONDS: '0',
  });
  // Loaded on first use: a benchmark that runs the worker in a process of its own (bundled-worker.ts) never loads it here.
  const inProcess = async () => ({
    handler: (await import('../../functions/workers/sync-job.ts')).handler,
    workerContext: (await import('../../test/support/worker-context.ts')).workerContext,
  });
  const servicePrincipalId = crypto.randomUUID();
  const base = `${ready.apiUrl}/servicePrincipals/${servicePrincipalId}/synchronization`;

  async function expectOk(method: string, route: string, body?: unknown): Promise<any> {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${ready.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  const tickOf = (jobId: string, trigger: SyncTick['trigger']): SyncTick => ({ tenantId: LOCAL_TENANT_ID, servicePrincipalId, jobId, trigger });

  return {
    ...ready,
    /** A job of the SCIM template into the services' SCIM target, every user and group in scope, started. */
    startedJob: async (): Promise<string> => {
      const { id } = (await expectOk('POST', '/jobs', { templateId: 'scim', schedule: { interval: 'PT40M' } })) as { id: string };
      await expectOk('PUT', '/secrets', {
        value: [
          { key: 'BaseAddress', value: ready.scimUrl },
          { key: 'SecretToken', value: ready.scimToken },
          { key: 'SyncAll', value: 'true' },
        ],
      });
      await expectOk('POST', `/jobs/${id}/start`);
      return id;
    },
    expectOk,
    getJob: (jobId: string) => expectOk('GET', `/jobs/${jobId}`),
    /** The tick a schedule (or the API's start) sends the worker for that job. */
    tickOf,
    /** One worker invocation in this process, awaited, with `budgetMs` of Lambda time. */
    runJob: async (jobId: string, trigger: SyncTick['trigger'] = 'start', budgetMs?: number) => {
      const { handler, workerContext } = await inProcess();
      return ((await handler(tickOf(jobId, trigger), workerContext(budgetMs))) as { outcome: string }).outcome;
    },
    /** The next invocation the worker or the API asked for (a continuation), taken off the queue. */
    takeTriggered: (): unknown => triggered.shift(),
    /** The directory's users as `GET /users` lists them (sourceUserResources reads these). */
    listAll: async (kind: 'users' | 'groups', select: string): Promise<any[]> => {
      const items: any[] = [];
      let next: string | undefined = `${ready.directoryUrl}/${kind}?$select=${select}&$top=999`;
      while (next) {
        const page = (await (await fetch(next)).json()) as { value: any[]; '@odata.nextLink'?: string };
        items.push(...page.value);
        next = page['@odata.nextLink'];
      }
      return items;
    },
    /** What the target holds: users, groups and memberships; and what the raw loader's target holds. */
    counts: () => ask('counts') as Promise<{ users: number; groups: number; members: number; rawUsers: number }>,
    /** CPU milliseconds and RSS of the services process so far. */
    usage: () => ask('usage') as Promise<{ cpuMs: number; rssMb: number }>,
    expireDeltaTokens: () => ask('expireDeltaTokens'),
    close: async () => {
      await ask('close');
      child.kill();
      await capture.close();
    },
  };
}

export type RemoteServices = Awaited<ReturnType<typeof startRemoteServices>>;

/** This process's CPU time in milliseconds (user and system). */
export function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
