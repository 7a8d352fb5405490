import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { systemClock, type Clock } from '../functions/ports/clock.ts';
import { releaseAbandonedLeases } from './abandoned-leases.ts';
import { startApiServer } from './api-server.ts';
import { describeInvocationFailure } from './invocation-failure.ts';
import { startLambdaEndpoint } from './lambda-endpoint.ts';
import { issueLocalToken, LOCAL_AUDIENCE, startLocalIdentityProvider } from './local-auth.ts';
import { startLocalDynamoDb } from './local-dynamodb.ts';
import { ensureLocalTls } from './local-tls.ts';
import type { LocalEnv } from './local-config.ts';
import { startLocalDirectory } from './directory/local-directory.ts';
import { startLocalScimService } from './scim-service/local-scim-service.ts';
import { startSchedulerEmulator } from './scheduler-emulator/scheduler-emulator.ts';

const TABLE_NAME = 'graph-sync-jobs';
const SCHEDULE_GROUP = 'graph-sync-jobs';
const WORKER_NAME = 'sync-job';
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const WORKER_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${WORKER_NAME}`;
/** The time budget of one local worker invocation. */
const WORKER_BUDGET_MS = 15 * 60 * 1000;

export type LocalStackOptions = Omit<LocalEnv, 'LOCAL_DATA_DIR' | 'LOCAL_SCIM_PROFILE' | 'LOCAL_TENANTS'> & {
  dataDir: string;
  /** RFC 7644 by default. */
  LOCAL_SCIM_PROFILE?: LocalEnv['LOCAL_SCIM_PROFILE'];
  /** `any` by default. */
  LOCAL_TENANTS?: LocalEnv['LOCAL_TENANTS'];
  clock?: Clock;
  /** Tests drive the Scheduler emulator themselves (runDue) instead of a timer. */
  schedulerTimer?: boolean;
  /** Tests may persist DynamoDB in memory. */
  inMemoryDynamoDb?: boolean;
  /**
   * How long a deleted job's purge looks for late writes (JOB_PURGE_SETTLE_SECONDS); by default a minute more than
   * a worker invocation may run, as deployed. Tests that do not run the worker alongside may set 0.
   */
  purgeSettleSeconds?: number;
  /**
   * Hand the status page a read-only token when a browser on this machine opens it (`npm start`); off by default,
   * so the page asks for one as it does deployed.
   */
  statusPageToken?: boolean;
  /**
   * Have the jobs subscribe to the local directory's change notifications, delivered to the API's webhook (`npm
   * start`); off by default, so that tests drive every run themselves unless they ask for this.
   */
  changeNotifications?: boolean;
  /** Members of each seeded group, by index (a benchmark's group sizes); by department when absent. */
  seedGroupSizes?: readonly number[];
};

async function localSecretsKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'secrets-key');
  if (!existsSync(file)) await writeFile(file, randomBytes(32).toString('base64'), { mode: 0o600 });
  return (await readFile(file, 'utf8')).trim();
}

/** Lambda's context for a worker invocation; the budget matches the deployed worker's timeout. */
function workerContext(budgetMs: number, stopping: () => boolean): Context {
  const deadline = Date.now() + budgetMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: WORKER_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: WORKER_ARN,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${WORKER_NAME}`,
    logStreamName: 'local',
    // Stopping the stack reads as "no time left": a run ends cleanly at its next page boundary.
    getRemainingTimeInMillis: () => (stopping() ? 0 : deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The whole service on one machine: dynalite, the Scheduler emulator, the Lambda Invoke endpoint, the local
 * directory, the local SCIM service and the API, wired through the same environment variables the deployed
 * Lambdas read.
 */
export async function startLocalStack(options: LocalStackOptions) {
  const host = options.HOST;
  const clock = options.clock ?? systemClock;
  await mkdir(options.dataDir, { recursive: true });
  // The SDK clients need a region and credentials; the local endpoints accept any.
  process.env.AWS_REGION ??= REGION;
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const closers: (() => Promise<void>)[] = [];
  try {
    const dynamo = await startLocalDynamoDb({
      host,
      port: options.DYNAMODB_PORT,
      path: options.inMemoryDynamoDb ? undefined : path.join(options.dataDir, 'dynamodb'),
      tableName: TABLE_NAME,
    });
    closers.push(dynamo.close);
    const releasedLeases = await releaseAbandonedLeases({ endpoint: dynamo.endpoint, tableName: TABLE_NAME });
    const directory = await startLocalDirectory({
      host,
      port: options.SOURCE_PORT,
      dataFile: path.join(options.dataDir, 'directory.json'),
      seedUsers: options.LOCAL_SEED_USERS,
      seedGroups: options.LOCAL_SEED_GROUPS,
      ...(options.seedGroupSizes ? { seedGroupSizes: options.seedGroupSizes } : {}),
      clock,
    });
    closers.push(directory.close);
    const scim = await startLocalScimService({
      host,
      port: options.SCIM_PORT,
      token: options.LOCAL_SCIM_TOKEN,
      dataFile: path.join(options.dataDir, 'scim.json'),
      clock,
      profile: options.LOCAL_SCIM_PROFILE,
      ...(options.LOCAL_SCIM_RATE_LIMIT === undefined
        ? {}
        : { rateLimit: { requestsPerSecond: options.LOCAL_SCIM_RATE_LIMIT, burst: options.LOCAL_SCIM_RATE_BURST } }),
    });
    closers.push(scim.close);
    const identity = await startLocalIdentityProvider({ host, port: options.LOGIN_PORT, dataDir: options.dataDir });
    closers.push(identity.close);

    // Runs in flight: stopping waits for them (each ends at its next page), so none outlives DynamoDB.
    const runs = new Set<Promise<void>>();
    let stopping = false;
    // A handler that throws is a failed invocation, as Lambda records one: logged, and the stack carries on.
    const logFailure = (error: unknown) => console.error(describeInvocationFailure(WORKER_NAME, error));
    // How many worker invocations ended with each outcome (`failed` = the handler threw), for benchmarks.
    const outcomes = new Map<string, number>();
    const countOutcome = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    const runWorker = (payload: unknown) => {
      const run = import('../functions/workers/sync-job.ts').then((worker) =>
        worker.handler(payload, workerContext(WORKER_BUDGET_MS, () => stopping)),
      );
      run.then(
        (result) => countOutcome('outcome' in result ? result.outcome : 'action'),
        () => countOutcome('threw'),
      );
      // Only for the bookkeeping, so it never rejects; whoever invoked handles the run's own outcome.
      const tracked: Promise<void> = run.then(
        () => undefined,
        () => undefined,
      ).finally(() => runs.delete(tracked));
      runs.add(tracked);
      return run;
    };
    closers.push(async () => {
      stopping = true;
      await Promise.allSettled([...runs]);
    });
    const lambda = await startLambdaEndpoint({
      host,
      port: options.LAMBDA_PORT,
      functions: { [WORKER_NAME]: runWorker },
      onError: logFailure,
    });
    closers.push(lambda.close);
    const scheduler = await startSchedulerEmulator({
      host,
      port: options.SCHEDULER_PORT,
      dataFile: path.join(options.dataDir, 'schedules.json'),
      groups: [SCHEDULE_GROUP],
      region: REGION,
      accountId: ACCOUNT,
      clock,
      invoke: async (targetArn, input) => {
        if (targetArn !== WORKER_ARN) throw new Error(`Unknown target ${targetArn}`);
        // Scheduler hands the event to Lambda and is done: a failed run is retried by the schedule's next tick.
        runWorker(JSON.parse(input)).catch(logFailure);
      },
    });
    closers.push(scheduler.close);
    if (options.schedulerTimer !== false) {
      const timer = setInterval(() => {
        scheduler.runDue().catch((error: unknown) => console.error('scheduler tick failed', error));
      }, options.SCHEDULER_POLL_MS);
      closers.push(async () => clearInterval(timer));
    }

    Object.assign(process.env, {
      TABLE_NAME,
      SECRETS_KEY_ID: 'local',
      LOCAL_SECRETS_KEY: await localSecretsKey(options.dataDir),
      SCHEDULE_GROUP_NAME: SCHEDULE_GROUP,
      SCHEDULER_ROLE_ARN: `arn:aws:iam::${ACCOUNT}:role/graph-sync-jobs-scheduler`,
      SYNC_FUNCTION_ARN: WORKER_ARN,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      SCHEDULER_ENDPOINT: scheduler.url,
      LAMBDA_ENDPOINT: lambda.url,
      LOCAL_SOURCE_BASE_URL: directory.url,
      JOB_PURGE_SETTLE_SECONDS: String(options.purgeSettleSeconds ?? WORKER_BUDGET_MS / 1000 + 60),
      // The API verifies tokens as deployed, against the local identity provider's key sets.
      AUTH_LOGIN_BASE_URL: identity.loginBaseUrl,
      AUTH_AUDIENCE: LOCAL_AUDIENCE,
      AUTH_TENANTS: options.LOCAL_TENANTS ?? 'any',
    });
    if (options.LOCAL_APP_IDS) process.env.AUTH_APP_IDS = options.LOCAL_APP_IDS;
    else delete process.env.AUTH_APP_IDS;

    // The wall clock, not the stack's: clients check the certificate's dates against their own.
    const tls = await ensureLocalTls(options.dataDir, { host });
    const api = await startApiServer({
      host,
      port: options.PORT,
      https: { port: options.HTTPS_PORT, cert: tls.certPem, key: tls.keyPem },
      ...(options.statusPageToken ? { localPageToken: () => issueLocalToken(options.dataDir, { readOnly: true }) } : {}),
    });
    closers.push(api.close);
    // Read when the worker's services are built (its first run), so this takes effect for this stack.
    if (options.changeNotifications) process.env.NOTIFICATION_URL = `${api.url}/notifications`;
    else delete process.env.NOTIFICATION_URL;
    return {
      apiUrl: `${api.url}/v1.0`,
      /** The same API over https; clients trust it through `caFile` (NODE_EXTRA_CA_CERTS) or `caPem`. */
      httpsApiUrl: `${api.httpsUrl}/v1.0`,
      caFile: tls.caFile,
      caPem: tls.caPem,
      statusPageUrl: `${api.url}/`,
      dynamoDbEndpoint: dynamo.endpoint,
      directoryUrl: directory.url,
      scimUrl: scim.url,
      scimToken: options.LOCAL_SCIM_TOKEN,
      /** The local identity provider (its key sets and issuer base). */
      identity,
      schedulerUrl: scheduler.url,
      scheduleGroup: SCHEDULE_GROUP,
      tableName: TABLE_NAME,
      /** Jobs whose run died with the previous process, freed to resume at once (see abandoned-leases.ts). */
      releasedLeases,
      runDueSchedules: () => scheduler.runDue(),
      /** Worker invocations so far by outcome (`threw`: the handler failed; `action`: an API-requested action). */
      workerOutcomes: () => Object.fromEntries(outcomes) as Record<string, number>,
      /** Resolves once no worker run is in flight (one a run in flight starts included): tests read settled state. */
      workerRunsSettled: async () => {
        while (runs.size > 0) await Promise.allSettled([...runs]);
      },
      directory,
      scim,
      close: async () => {
        for (const close of closers.reverse()) await close();
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}

export type LocalStack = Awaited<ReturnType<typeof startLocalStack>>;
