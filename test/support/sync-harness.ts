import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { LOCAL_TENANT_ID, issueLocalToken } from '../../local/local-auth.ts';
import { startLambdaEndpoint } from '../../local/lambda-endpoint.ts';
import { startLocalScimService, type LocalScimService, type LocalScimServiceOptions } from '../../local/scim-service/local-scim-service.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import type { SyncTick } from '../../functions/schemas/sync-tick.ts';
import { getServices } from '../../functions/config/services.ts';
import { syncRunDeps } from '../../functions/config/worker-services.ts';
import type { Clock } from '../../functions/ports/clock.ts';
import type { Connection } from '../../functions/use-cases/connection.ts';
import { makeSyncRun, type SyncRunDeps } from '../../functions/use-cases/sync-run.ts';
import { findTemplate } from '../../functions/domain/templates.ts';
import { purgeScheduleNameFor, scheduleNameFor } from '../../functions/domain/ids.ts';
import {
  SOFT_DELETED_ATTRIBUTE,
  findObjectMapping,
  mapObject,
  selectedSourceAttributes,
} from '../../functions/domain/mapping/attribute-mapping.ts';
import { toScimResource } from '../../functions/domain/mapping/scim-resource.ts';
import { EPHEMERAL_PORTS } from './local-stack.ts';
import { workerContext } from './worker-context.ts';

export { workerContext };

/** Worker invocations whose caller awaits the answer. */
const AWAITED_ACTIONS = new Set(['validateCredentials', 'provisionOnDemand']);

export interface SyncHarnessOptions {
  seedUsers?: number;
  seedGroups?: number;
  /** The jobs' service principal (default: a fresh id the directory does not have). */
  servicePrincipalId?: string;
  /** How the target SCIM service behaves (e.g. a target's profile); it always records its requests. */
  scim?: Omit<LocalScimServiceOptions, 'token' | 'host' | 'port' | 'recordRequests'>;
  /** The target's bearer token (default `e2e-scim-token`). */
  scimToken?: string;
}

/**
 * One local stack for one test file, driven deterministically: the target is a SCIM service that records its
 * requests, and the runs that start/restart would fire in the background are captured instead of run, so a test
 * runs the worker itself (`runJob`, `drainTriggered`) and awaits it.
 */
export async function startSyncHarness(options: SyncHarnessOptions = {}) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sync-e2e-'));
  const scimToken = options.scimToken ?? 'e2e-scim-token';
  let stack: LocalStack | undefined;
  let scim: LocalScimService | undefined;
  let capture: Awaited<ReturnType<typeof startLambdaEndpoint>> | undefined;
  const triggered: unknown[] = [];
  let runWorker: (payload: unknown) => Promise<unknown> = async () => {
    throw new Error('the worker is not loaded yet');
  };
  try {
    stack = await startLocalStack({
      dataDir,
      ...EPHEMERAL_PORTS,
      LOCAL_SEED_USERS: options.seedUsers ?? 12,
      LOCAL_SEED_GROUPS: options.seedGroups ?? 3,
      LOCAL_SCIM_TOKEN: scimToken,
      SCHEDULER_POLL_MS: 60_000,
      inMemoryDynamoDb: true,
      schedulerTimer: false,
      // Runs happen only when a test runs the worker, so none can be in flight when a job is deleted.
      purgeSettleSeconds: 0,
    });
    scim = await startLocalScimService({ ...options.scim, host: '127.0.0.1', port: 0, token: scimToken, recordRequests: true });
    capture = await startLambdaEndpoint({
      host: '127.0.0.1',
      port: 0,
      // Ticks are kept for the test to run; a request awaiting its answer (validateCredentials, provisionOnDemand) is
      // run at once.
      functions: {
        'sync-job': async (payload) =>
          AWAITED_ACTIONS.has((payload as { action?: string }).action ?? '') ? runWorker(payload) : void triggered.push(payload),
      },
      onError: () => undefined,
    });
  } catch (error) {
    await capture?.close();
    await scim?.close();
    await stack?.close();
    throw error;
  }
  // Read when the services are first built (on the first API call or run), so this takes effect.
  process.env.LAMBDA_ENDPOINT = capture.url;
  const { handler } = await import('../../functions/workers/sync-job.ts');
  runWorker = (payload) => handler(payload, workerContext());
  const token = await issueLocalToken(dataDir);
  const servicePrincipalId = options.servicePrincipalId ?? randomUUID();
  const base = `${stack.apiUrl}/servicePrincipals/${servicePrincipalId}/synchronization`;

  async function api(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** A GET of any route under /v1.0 (e.g. `/auditLogs/provisioning?$filter=…`), with the harness's token. */
  async function getV1(route: string): Promise<{ status: number; body: any }> {
    const response = await fetch(`${stack!.apiUrl}${route}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: await response.json() };
  }

  async function expectOk(method: string, route: string, body?: unknown): Promise<any> {
    const result = await api(method, route, body);
    if (result.status >= 300) throw new Error(`${method} ${route} answered ${result.status}: ${JSON.stringify(result.body)}`);
    return result.body;
  }

  async function graph(method: string, route: string, body?: unknown): Promise<any> {
    const response = await fetch(`${stack!.directoryUrl}/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`directory ${method} ${route} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function listAll(kind: 'users' | 'groups', select: string): Promise<any[]> {
    const items: any[] = [];
    let next: string | undefined = `${stack!.directoryUrl}/${kind}?$select=${select}&$top=999`;
    while (next) {
      const response = await fetch(next);
      const page = (await response.json()) as { value: any[]; '@odata.nextLink'?: string };
      items.push(...page.value);
      next = page['@odata.nextLink'];
    }
    return items;
  }

  const tickOf = (jobId: string, trigger: SyncTick['trigger'] = 'start'): SyncTick => ({
    tenantId: LOCAL_TENANT_ID,
    servicePrincipalId,
    jobId,
    trigger,
  });

  const harness = {
    stack,
    scim,
    dataDir,
    scimToken,
    servicePrincipalId,
    tenantId: LOCAL_TENANT_ID,
    api,
    getV1,
    expectOk,
    graph,
    listAll,
    tickOf,
    /** Creates a job of the SCIM template. */
    createJob: async (interval = 'PT40M'): Promise<string> =>
      (await expectOk('POST', '/jobs', { templateId: 'scim', schedule: { interval } })).id as string,
    /** Target secrets; `SyncAll` true (every user and group in scope) unless `syncAll` is false. */
    putSecrets: (baseAddress: string, secretToken: string, syncAll = true) =>
      expectOk('PUT', '/secrets', {
        value: [
          { key: 'BaseAddress', value: baseAddress },
          { key: 'SecretToken', value: secretToken },
          ...(syncAll ? [{ key: 'SyncAll', value: 'true' }] : []),
        ],
      }),
    getJob: (jobId: string) => expectOk('GET', `/jobs/${jobId}`),
    /** One worker invocation, awaited. */
    runJob: (jobId: string, trigger: SyncTick['trigger'] = 'start', budgetMs?: number) =>
      handler(tickOf(jobId, trigger), workerContext(budgetMs)) as Promise<{ outcome: string }>,
    /** Runs, one after the other, the invocations the service asked for (start, restart, continuation). */
    drainTriggered: async (): Promise<string[]> => {
      const outcomes: string[] = [];
      while (triggered.length > 0) outcomes.push(((await handler(triggered.shift(), workerContext())) as { outcome: string }).outcome);
      return outcomes;
    },
    /**
     * Runs a deleted job's purge as its schedule does, one invocation after the other with the schedule's own
     * input, until it reports `purged`; returns the outcomes.
     */
    purgeDeleted: async (jobId: string, budgetMs?: number): Promise<string[]> => {
      const scheduler = new SchedulerClient({
        endpoint: stack.schedulerUrl,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      try {
        const schedule = await scheduler.send(
          new GetScheduleCommand({ Name: purgeScheduleNameFor(scheduleNameFor(LOCAL_TENANT_ID, jobId)), GroupName: stack.scheduleGroup }),
        );
        const outcomes: string[] = [];
        while (outcomes.at(-1) !== 'purged') {
          if (outcomes.length >= 100) throw new Error(`the purge of ${jobId} did not complete: ${outcomes.join()}`);
          outcomes.push(((await handler(JSON.parse(schedule.Target!.Input!), workerContext(budgetMs))) as { outcome: string }).outcome);
        }
        return outcomes;
      } finally {
        scheduler.destroy();
      }
    },
    triggered: () => triggered as readonly unknown[],
    /** Drops the invocations asked for so far, for tests that run the worker their own way. */
    discardTriggered: () => {
      triggered.length = 0;
    },
    close: async () => {
      await capture.close();
      await scim.close();
      await stack.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return {
    ...harness,
    /** A job of the SCIM template pointed at this harness's target, started and run to its first steady state. */
    startedJob: async (): Promise<string> => {
      const jobId = await harness.createJob();
      await harness.putSecrets(scim.url, scimToken);
      await harness.expectOk('POST', `/jobs/${jobId}/start`);
      const outcomes = await harness.drainTriggered();
      if (outcomes.join() !== 'steadyState') throw new Error(`the first run of ${jobId} ended ${outcomes.join()}`);
      return jobId;
    },
  };
}


export type SyncHarness = Awaited<ReturnType<typeof startSyncHarness>>;

/** The SCIM template's user and group flows, as a run maps them. */
export function scimFlows() {
  const schema = findTemplate('scim')!.schema;
  return { users: findObjectMapping(schema, 'User')!, groups: findObjectMapping(schema, 'Group')! };
}

/** The SCIM resource (with `schemas`) the template maps each present directory user to, keyed by source id. */
export async function sourceUserResources(harness: Pick<SyncHarness, 'listAll'>): Promise<Map<string, Record<string, unknown>>> {
  const { users } = scimFlows();
  const select = selectedSourceAttributes(users.objectMapping).join(',');
  const result = new Map<string, Record<string, unknown>>();
  for (const user of await harness.listAll('users', select)) {
    const mapped = mapObject(users.objectMapping, { ...user, [SOFT_DELETED_ATTRIBUTE]: false }, {
      targetObject: users.targetObject,
      mode: 'add',
    });
    result.set(user.id as string, toScimResource('Users', mapped));
  }
  return result;
}

/**
 * What the target should hold for the directory's present users: each user's SCIM resource as the template maps
 * it (without `schemas`), keyed by source id. `accountEnabled: false` users are included (their `active` is false).
 */
export async function mappedSourceUsers(harness: SyncHarness): Promise<Map<string, Record<string, unknown>>> {
  const resources = await sourceUserResources(harness);
  return new Map([...resources].map(([id, { schemas: _schemas, ...resource }]) => [id, resource]));
}

/**
 * A sync run built from the same adapters as the deployed worker (functions/config/worker-services.ts), with
 * every port passed through `wrap` (to count, observe or break calls) and its own clock. Continuations are dropped.
 */
export function wrappedSyncRun(clock: Clock, wrap: <T extends object>(port: T) => T, concurrency = 4, overrides: Partial<SyncRunDeps> = {}) {
  const deps = syncRunDeps(getServices());
  return makeSyncRun({
    ...deps,
    jobs: wrap(deps.jobs),
    runs: wrap(deps.runs),
    links: wrap(deps.links),
    memberships: wrap(deps.memberships),
    escrows: wrap(deps.escrows),
    intents: wrap(deps.intents),
    assignments: wrap(deps.assignments),
    references: wrap(deps.references),
    schedules: wrap(deps.schedules),
    trigger: { trigger: async () => undefined },
    connect: async (job): Promise<Connection> => {
      const connection = await deps.connect(job);
      return { ...connection, source: wrap(connection.source), target: wrap(connection.target) };
    },
    clock,
    concurrency,
    ...overrides,
  });
}
