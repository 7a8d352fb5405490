import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand, ListSchedulesCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbJobStatePurge } from '../../functions/adapters/dynamodb/dynamodb-job-state-purge.ts';
import { DynamoDbJobQuota } from '../../functions/adapters/dynamodb/dynamodb-job-quota.ts';
import { DynamoDbJobStore } from '../../functions/adapters/dynamodb/dynamodb-job-store.ts';
import { DynamoDbSchemaStore } from '../../functions/adapters/dynamodb/dynamodb-schema-store.ts';
import { keys } from '../../functions/adapters/dynamodb/table-keys.ts';
import { EventBridgeJobSchedules } from '../../functions/adapters/scheduler/eventbridge-job-schedules.ts';
import { findTemplate } from '../../functions/domain/templates.ts';
import type { Clock } from '../../functions/ports/clock.ts';
import type { JobStatePurge } from '../../functions/ports/job-state-purge.ts';
import { purgeJobEventSchema } from '../../functions/schemas/sync-tick.ts';
import type { JobKey } from '../../functions/schemas/stored-job.ts';
import { makeJobCommands } from '../../functions/use-cases/job-commands.ts';
import { makePurgeJob, type PurgeOutcome } from '../../functions/use-cases/purge-job.ts';
import { startLocalDynamoDb } from '../../local/local-dynamodb.ts';
import { startSchedulerEmulator, type SchedulerEmulator } from '../../local/scheduler-emulator/scheduler-emulator.ts';

const TABLE = 'purge-test';
const GROUP = 'sync-jobs';
const WORKER_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:sync';
const TENANT = '00000000-0000-4000-8000-0000000000a1';
const OTHER_TENANT = '00000000-0000-4000-8000-0000000000a2';
const SP = 'purge-app';
const SETTLE_MS = 6 * 60_000;
/** Items of the deleted job's partition: enough that no invocation of the small budget gets through them. */
const BIG_JOB_ITEMS = 20_000;

let now: number;
const clock: Clock = { now: () => new Date(now) };
let dynamo: Awaited<ReturnType<typeof startLocalDynamoDb>>;
let client: DynamoDBDocumentClient;
let emulator: SchedulerEmulator;
let scheduler: SchedulerClient;
let adapterPurges: DynamoDbJobStatePurge;
/** The purge port the worker uses; a test may replace it with one that fails. */
let workerPurges: JobStatePurge;
/** Each worker invocation the schedules made, with its outcome or its failure. */
let invocations: (PurgeOutcome | 'failed')[];
/** Milliseconds each worker invocation may run. */
let budgetMs: number;

const purgeJob = () =>
  makePurgeJob({
    jobs: new DynamoDbJobStore(client, TABLE),
    purges: workerPurges,
    schedules: new EventBridgeJobSchedules({ client: scheduler, groupName: GROUP, targetArn: WORKER_ARN, roleArn: 'arn:aws:iam::000000000000:role/r' }),
    clock,
    settleMs: SETTLE_MS,
    batchSize: 500,
    marginMs: 0,
  });

function commands() {
  const schedules = new EventBridgeJobSchedules({ client: scheduler, groupName: GROUP, targetArn: WORKER_ARN, roleArn: 'arn:aws:iam::000000000000:role/r' });
  return makeJobCommands({
    jobs: new DynamoDbJobStore(client, TABLE),
    schedules,
    trigger: { trigger: async () => undefined },
    secrets: { put: async () => undefined, keys: async () => ['BaseAddress', 'SecretToken'], read: async () => [], remove: async () => undefined },
    purges: adapterPurges,
    purgeSchedules: schedules,
    schemas: new DynamoDbSchemaStore(client, TABLE),
    quota: new DynamoDbJobQuota(client, TABLE),
    limits: { perServicePrincipal: 100, perTenant: 1000 },
    clock,
  });
}

async function writeItems(pk: string, count: number, sk: (i: number) => string, attributes: Record<string, unknown> = {}): Promise<void> {
  const requests = Array.from({ length: count }, (_, i) => ({ PutRequest: { Item: { pk, sk: sk(i), ...attributes } } }));
  const batches: (typeof requests)[] = [];
  for (let i = 0; i < requests.length; i += 25) batches.push(requests.slice(i, i + 25));
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < batches.length) {
        let pending: unknown[] | undefined = batches[next++];
        while (pending?.length) {
          const result = await client.send(new BatchWriteCommand({ RequestItems: { [TABLE]: pending as never } }));
          pending = result.UnprocessedItems?.[TABLE];
        }
      }
    }),
  );
}

async function countItems(pk: string, prefix?: string): Promise<number> {
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk, ...(prefix ? { ':prefix': prefix } : {}) },
        Select: 'COUNT',
        ExclusiveStartKey: startKey,
      }),
    );
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/** What a job left in the table: its partition (links, escrows) and its schema items. */
async function stateOf(key: JobKey) {
  return {
    partition: await countItems(keys.jobObjects(key.tenantId, key.jobId)),
    schemas: await countItems(keys.servicePrincipal(key.tenantId, key.servicePrincipalId), keys.schemaPrefix(key.jobId)),
  };
}

/** A job with links of two generations, group memberships, escrows and two customised schema versions. */
async function jobWithState(tenantId: string, items: number): Promise<JobKey> {
  const job = await commands().create(tenantId, SP, { templateId: 'scim' });
  const key = { tenantId, servicePrincipalId: SP, jobId: job.id };
  const pk = keys.jobObjects(tenantId, job.id);
  const users = Math.floor(items * 0.9);
  const groups = Math.floor(items * 0.05);
  await writeItems(pk, users, (i) => `G${i % 2}#L#User#user-${i}`, { type: 'User', targetId: 't', exported: { userName: 'u' } });
  await writeItems(pk, groups, (i) => `G1#L#Group#group-${i}`, { type: 'Group', targetId: 't', exported: {}, members: ['user-1', 'user-2'] });
  await writeItems(pk, items - users - groups, (i) => `E1#User#user-${i}`, { error: 'failed' });
  const schemas = new DynamoDbSchemaStore(client, TABLE);
  for (const version of [2, 3]) await schemas.put(key, version, { ...findTemplate('scim')!.schema, version: String(version) });
  return key;
}

/** One pass of the Scheduler emulator a minute on, as EventBridge Scheduler ticks the purge schedule. */
async function tick(minutes = 1): Promise<void> {
  now += minutes * 60_000;
  await emulator.runDue();
}

async function purgeSchedules(): Promise<string[]> {
  const listed = await scheduler.send(new ListSchedulesCommand({ GroupName: GROUP, NamePrefix: 'purge-' }));
  return (listed.Schedules ?? []).map((schedule) => schedule.Name!);
}

beforeAll(async () => {
  dynamo = await startLocalDynamoDb({ host: '127.0.0.1', port: 0, tableName: TABLE });
  client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint }), { marshallOptions: { removeUndefinedValues: true } });
  adapterPurges = new DynamoDbJobStatePurge(client, TABLE);
  emulator = await startSchedulerEmulator({
    clock,
    groups: [GROUP],
    // Scheduler hands the event to Lambda, which runs the worker; a handler that throws is a failed invocation.
    invoke: async (targetArn, input) => {
      expect(targetArn).toBe(WORKER_ARN);
      const deadline = Date.now() + budgetMs;
      await purgeJob()(purgeJobEventSchema.parse(JSON.parse(input)), () => deadline - Date.now()).then(
        ({ outcome }) => invocations.push(outcome),
        () => invocations.push('failed'),
      );
    },
  });
  scheduler = new SchedulerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}, 120_000);

afterAll(async () => {
  scheduler?.destroy();
  await emulator?.close();
  await dynamo?.close();
});

beforeEach(() => {
  now = Date.parse('2026-04-01T08:00:00.000Z');
  invocations = [];
  budgetMs = 60_000;
  workerPurges = adapterPurges;
});

describe("deleting a job purges its state in the background, tracked until it is gone", () => {
  it('removes tens of thousands of items over several invocations of a small budget, and nothing of any other job', async () => {
    const deleted = await jobWithState(TENANT, BIG_JOB_ITEMS);
    const sibling = await jobWithState(TENANT, 300);
    const otherTenants = await jobWithState(OTHER_TENANT, 200);
    const secrets = { pk: keys.servicePrincipal(TENANT, SP), sk: keys.secrets };
    await client.send(new PutCommand({ TableName: TABLE, Item: { ...secrets, keys: ['SecretToken'], ciphertext: 'x' } }));
    const untouched = { sibling: await stateOf(sibling), otherTenants: await stateOf(otherTenants) };
    expect(await stateOf(deleted)).toEqual({ partition: BIG_JOB_ITEMS, schemas: 2 });

    const started = Date.now();
    await commands().delete(deleted);
    // The API answers at once: the job is gone, the purge is recorded and scheduled, its state is still there.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await commands().get(deleted).catch((error: Error) => error.name)).toBe('JobNotFoundError');
    expect(await adapterPurges.pending(deleted)).toMatchObject({ key: deleted, deletedAt: new Date(now).toISOString() });
    const [name] = await purgeSchedules();
    const schedule = await scheduler.send(new GetScheduleCommand({ Name: name, GroupName: GROUP }));
    expect(schedule.ScheduleExpression).toBe('rate(1 minute)');
    expect(JSON.parse(schedule.Target!.Input!)).toEqual({ action: 'purgeJob', ...deleted, scheduleName: name });
    expect(await stateOf(deleted)).toEqual({ partition: BIG_JOB_ITEMS, schemas: 2 });

    budgetMs = 300;
    for (let minute = 0; minute < 200 && !invocations.includes('purged'); minute += 1) await tick();

    expect(invocations.filter((outcome) => outcome === 'continuing').length).toBeGreaterThanOrEqual(3);
    expect(invocations.at(-1)).toBe('purged');
    expect(invocations).not.toContain('failed');
    expect(await stateOf(deleted)).toEqual({ partition: 0, schemas: 0 });
    expect(await adapterPurges.pending(deleted)).toBeNull();
    expect(await purgeSchedules()).toEqual([]);
    // Neither the job beside it, nor another tenant's job of the same service principal, nor the secrets.
    expect({ sibling: await stateOf(sibling), otherTenants: await stateOf(otherTenants) }).toEqual(untouched);
    expect(await countItems(secrets.pk, secrets.sk)).toBe(1);

    const ticks = invocations.length;
    await tick();
    expect(invocations).toHaveLength(ticks);
  }, 180_000);

  it('retries a failed invocation on the next tick of the schedule', async () => {
    const deleted = await jobWithState(TENANT, 2_000);
    await commands().delete(deleted);
    let calls = 0;
    workerPurges = {
      pending: (key) => adapterPurges.pending(key),
      record: (purge) => adapterPurges.record(purge),
      forget: (key) => adapterPurges.forget(key),
      // The second slice fails (a throttle, a network error): the invocation throws, part of the state is gone.
      removeSome: async (key, limit) => {
        calls += 1;
        if (calls === 2) throw Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' });
        return adapterPurges.removeSome(key, limit);
      },
    };

    await tick();
    expect(invocations).toEqual(['failed']);
    const left = (await stateOf(deleted)).partition;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(2_000);
    expect(await purgeSchedules()).toHaveLength(1);

    for (let minute = 0; minute < 10 && !invocations.includes('purged'); minute += 1) await tick();
    // The next invocation removes the rest; the purge completes once the settling time is over.
    expect(invocations.at(-1)).toBe('purged');
    expect(new Set(invocations.slice(1, -1))).toEqual(new Set(['settling']));
    expect(await stateOf(deleted)).toEqual({ partition: 0, schemas: 0 });
    expect(await purgeSchedules()).toEqual([]);
  }, 60_000);

  it('removes what a run in flight at the deletion writes while the purge settles', async () => {
    const deleted = await jobWithState(TENANT, 100);
    await commands().delete(deleted);
    await tick();
    expect(invocations).toEqual(['settling']);
    expect(await stateOf(deleted)).toEqual({ partition: 0, schemas: 0 });
    // A page that run had read before the delete lands now.
    await writeItems(keys.jobObjects(TENANT, deleted.jobId), 40, (i) => `G0#L#User#late-${i}`);

    for (let minute = 0; minute < 10 && !invocations.includes('purged'); minute += 1) await tick();
    expect(invocations.at(-1)).toBe('purged');
    expect(await stateOf(deleted)).toEqual({ partition: 0, schemas: 0 });
  });

  it('keeps the state of a job whose delete did not happen, and drops that purge', async () => {
    const kept = await jobWithState(TENANT, 100);
    const before = await stateOf(kept);
    // What a delete leaves when it fails after setting up the purge (the job write lost to other writers).
    const schedules = new EventBridgeJobSchedules({ client: scheduler, groupName: GROUP, targetArn: WORKER_ARN, roleArn: 'arn:aws:iam::000000000000:role/r' });
    const name = `purge-${'f'.repeat(40)}`;
    await schedules.ensurePurge({ name, rateMinutes: 1, event: { action: 'purgeJob', ...kept, scheduleName: name } });
    await adapterPurges.record({ key: kept, deletedAt: new Date(now).toISOString() });

    for (let minute = 0; minute < 10 && !invocations.includes('cancelled'); minute += 1) await tick();
    expect(invocations.at(-1)).toBe('cancelled');
    expect(new Set(invocations.slice(0, -1))).toEqual(new Set(['waitingForDelete']));
    expect(await stateOf(kept)).toEqual(before);
    expect(await commands().get(kept)).toMatchObject({ id: kept.jobId });
    expect(await adapterPurges.pending(kept)).toBeNull();
    await expect(scheduler.send(new GetScheduleCommand({ Name: name, GroupName: GROUP }))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('a repeated delete is 404 and sets up nothing more', async () => {
    const deleted = await jobWithState(TENANT, 10);
    await commands().delete(deleted);
    await expect(commands().delete(deleted)).rejects.toMatchObject({ name: 'JobNotFoundError' });
    expect(await purgeSchedules()).toHaveLength(1);
    for (let minute = 0; minute < 10 && !invocations.includes('purged'); minute += 1) await tick();
    expect(await purgeSchedules()).toEqual([]);
  });
});
