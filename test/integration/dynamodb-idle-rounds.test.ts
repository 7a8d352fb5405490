import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbJobRunStore } from '../../functions/adapters/dynamodb/dynamodb-job-run-store.ts';
import { DynamoDbJobStore } from '../../functions/adapters/dynamodb/dynamodb-job-store.ts';
import { jobFromItem } from '../../functions/adapters/dynamodb/job-item.ts';
import { createJob, startJob } from '../../functions/domain/job-lifecycle.ts';
import { findTemplate } from '../../functions/domain/templates.ts';
import type { JobKey, StoredJob } from '../../functions/schemas/stored-job.ts';
import { dynamoDbTableForTests } from '../support/dynamodb-table.ts';

const TABLE = 'idle-rounds-test';
const TENANT = '00000000-0000-4000-8000-0000000000c1';
const T0 = '2026-03-01T10:00:00.000Z';
const T1 = '2026-03-01T10:05:00.000Z';
const T2 = '2026-03-01T10:10:00.000Z';
const table = dynamoDbTableForTests(TABLE);

const keyOf = (job: StoredJob): JobKey => ({ tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id });
const itemKeys = (job: StoredJob) => ({ pk: `T#${job.tenantId}#SP#${job.servicePrincipalId}`, sk: `JOB#${job.id}` });
const rawJob = async (job: StoredJob) => (await table.client.send(new GetCommand({ TableName: TABLE, Key: itemKeys(job) }))).Item!;
/** The job item alone, as the store reads it (no idle rounds over it). */
const jobItemOf = async (job: StoredJob) => jobFromItem(await rawJob(job));

/** A started job at rest after a round, as a run leaves it: watermark set, one execution in its status. */
async function jobAtRest(servicePrincipalId: string, hex: string): Promise<StoredJob> {
  const created = createJob({ tenantId: TENANT, servicePrincipalId, template: findTemplate('scim')!, intervalMinutes: 5, randomHex32: hex.repeat(32), now: T0 });
  const job = startJob({ ...created, run: { ...created.run, watermark: 'delta-0' } }, T0);
  await new DynamoDbJobStore(table.client, TABLE).create(job);
  return job;
}

describe('idle rounds beside the job item', () => {
  it('are read over the job, leave the job item and its watermark as they were, and are refused going back in time', async () => {
    const jobs = new DynamoDbJobStore(table.client, TABLE);
    const runs = new DynamoDbJobRunStore(table.client, TABLE);
    const job = await jobAtRest('sp-read', 'a');
    const before = await rawJob(job);

    const recorded = await runs.recordIdleRound(job, { activityIdentifier: 'idle-1', at: T1 });
    const read = await jobs.get(keyOf(job));
    expect(read).toEqual(recorded);
    expect(read?.version).toBe(job.version);
    expect(read?.run.watermark).toBe('delta-0');
    expect(read?.status).toMatchObject({
      lastExecution: { activityIdentifier: 'idle-1', state: 'Succeeded', timeBegan: T1, timeEnded: T1, countImported: 0 },
      lastSuccessfulExecution: { activityIdentifier: 'idle-1' },
      steadyStateFirstAchievedTime: T1,
      steadyStateLastAchievedTime: T1,
    });
    expect(await rawJob(job)).toEqual(before);
    // The item holds the round alone: one write unit.
    const idle = (await table.client.send(new GetCommand({ TableName: TABLE, Key: { ...itemKeys(job), sk: `JOB#${job.id}#IDLE` } }))).Item!;
    expect(Object.keys(idle).sort()).toEqual(['activityIdentifier', 'at', 'basis', 'pk', 'sk']);

    // A tick that read before the round above and records an older one: the later round stays.
    expect(await runs.recordIdleRound(job, { activityIdentifier: 'idle-0', at: T0 })).toBeNull();
    expect((await jobs.get(keyOf(job)))?.status.lastExecution?.activityIdentifier).toBe('idle-1');
  });

  it('are written into the job item by the next API write and by taking the lease, and are void after it', async () => {
    const jobs = new DynamoDbJobStore(table.client, TABLE);
    const runs = new DynamoDbJobRunStore(table.client, TABLE);
    const job = await jobAtRest('sp-fold', 'b');
    await runs.recordIdleRound(job, { activityIdentifier: 'idle-1', at: T1 });

    // An API write (a PATCH) of the job as read.
    const read = (await jobs.get(keyOf(job)))!;
    const replaced = await jobs.replace({ ...read, intervalMinutes: 10 });
    expect(await jobItemOf(job)).toMatchObject({ version: replaced.version, run: { watermark: 'delta-0' }, status: { lastExecution: { activityIdentifier: 'idle-1' } } });
    // A tick that read the version before the write records on it: void, the job is as the write left it.
    expect(await runs.recordIdleRound(read, { activityIdentifier: 'idle-2', at: T2 })).not.toBeNull();
    expect(await jobs.get(keyOf(job))).toEqual(replaced);

    await runs.recordIdleRound(replaced, { activityIdentifier: 'idle-3', at: T2 });
    const leased = await runs.acquireLease((await jobs.get(keyOf(job)))!, 'run-1', T2, T2);
    expect(leased).toMatchObject({ version: replaced.version + 1, run: { watermark: 'delta-0', leaseOwner: 'run-1' }, status: { lastExecution: { activityIdentifier: 'idle-3' } } });
    expect(await jobItemOf(job)).toMatchObject({ status: { lastExecution: { activityIdentifier: 'idle-3' }, steadyStateLastAchievedTime: T2 } });
    expect(await jobs.get(keyOf(job))).toEqual(leased);
  });

  it('renew the watermark in the job item, on the version read and with no live lease, voiding the idle rounds item', async () => {
    const jobs = new DynamoDbJobStore(table.client, TABLE);
    const runs = new DynamoDbJobRunStore(table.client, TABLE);
    const job = await jobAtRest('sp-renew', 'e');
    await runs.recordIdleRound(job, { activityIdentifier: 'idle-1', at: T1 });
    const read = (await jobs.get(keyOf(job)))!;

    const renewed = await runs.renewWatermark(read, { watermark: 'delta-2', activityIdentifier: 'idle-2', at: T2 });
    expect(renewed).toMatchObject({ version: job.version + 1, run: { watermark: 'delta-2', watermarkAt: T2 }, status: { lastExecution: { activityIdentifier: 'idle-2' }, steadyStateLastAchievedTime: T2 } });
    expect(await jobs.get(keyOf(job))).toEqual(renewed);
    // On a version that is no longer the job's, or under a live lease: refused, nothing written.
    expect(await runs.renewWatermark(read, { watermark: 'delta-3', activityIdentifier: 'idle-3', at: T2 })).toBeNull();
    const leased = (await runs.acquireLease(renewed!, 'run-1', '2026-03-01T11:00:00.000Z', T2))!;
    expect(await runs.renewWatermark(leased, { watermark: 'delta-3', activityIdentifier: 'idle-3', at: T2 })).toBeNull();
    expect(await jobs.get(keyOf(job))).toEqual(leased);
  });

  it('a job item stored before idle rounds had their own item reads, records and takes the lease as it did', async () => {
    const jobs = new DynamoDbJobStore(table.client, TABLE);
    const runs = new DynamoDbJobRunStore(table.client, TABLE);
    const job = await jobAtRest('sp-old', 'c');
    // The old shape: the last idle round written into the job item itself, no item beside it, and fields added
    // to the run state since left out (their defaults apply).
    const { escrowCursor: _cursor, notifications: _notifications, reconciledAt: _reconciled, watermarkAt: _at, ...oldRun } = job.run;
    const old = { ...job, version: 7, run: { ...oldRun, watermark: 'delta-old' }, status: { ...job.status, steadyStateLastAchievedTime: T1 } };
    await table.client.send(new PutCommand({ TableName: TABLE, Item: { ...itemKeys(job), ...old } }));
    await table.client.send(new DeleteCommand({ TableName: TABLE, Key: { ...itemKeys(job), sk: `JOB#${job.id}#IDLE` } }));

    const read = (await jobs.get(keyOf(job)))!;
    expect(read).toMatchObject({ version: 7, run: { watermark: 'delta-old', watermarkAt: null, escrowCursor: null, notifications: null }, status: { steadyStateLastAchievedTime: T1 } });
    expect(await runs.recordIdleRound(read, { activityIdentifier: 'idle-new', at: T2 })).not.toBeNull();
    expect(await jobs.get(keyOf(job))).toMatchObject({ version: 7, run: { watermark: 'delta-old' }, status: { lastExecution: { activityIdentifier: 'idle-new' } } });
    expect(await runs.acquireLease((await jobs.get(keyOf(job)))!, 'run-1', T2, T2)).toMatchObject({ version: 8, run: { watermark: 'delta-old' } });
  });

  it('an idle rounds item of the form that held the position reads over the job with it', async () => {
    const jobs = new DynamoDbJobStore(table.client, TABLE);
    const job = await jobAtRest('sp-old-idle', 'f');
    await table.client.send(
      new PutCommand({ TableName: TABLE, Item: { ...itemKeys(job), sk: `JOB#${job.id}#IDLE`, basis: job.version, watermark: 'delta-idle', activityIdentifier: 'idle-old', at: T1 } }),
    );
    expect(await jobs.get(keyOf(job))).toMatchObject({ version: job.version, run: { watermark: 'delta-idle' }, status: { lastExecution: { activityIdentifier: 'idle-old' } } });
  });

  it('stores executions as lists of their values and the ids only in the keys; items of the older form read the same', async () => {
    const jobs = new DynamoDbJobStore(table.client, TABLE);
    const runs = new DynamoDbJobRunStore(table.client, TABLE);
    const job = await jobAtRest('sp-form', 'd');
    const leased = (await runs.acquireLease(job, 'run-1', T2, T1))!;
    const failed = { activityIdentifier: 'run-1', state: 'Failed' as const, timeBegan: T1, timeEnded: T2, countEntitled: 3, countEntitledForProvisioning: 3, countEscrowed: 1, countEscrowedRaw: 1, countExported: 2, countExports: 2, countImported: 3, countImportedDeltas: 0, countImportedReferenceDeltas: 0, error: { code: 'Throttled', message: 'Slow down', tenantActionable: false } };
    const committed = (await runs.commit(keyOf(job), 'run-1', leased.run.epoch, { run: { watermark: 'delta-2' }, status: { lastExecution: failed }, release: true }))!;
    expect(committed.status.lastExecution).toEqual(failed);

    const raw = await rawJob(job);
    expect(raw).not.toHaveProperty('tenantId');
    expect(raw).not.toHaveProperty('servicePrincipalId');
    expect(raw).not.toHaveProperty('id');
    expect(raw.status.lastExecution).toEqual(['run-1', 'Failed', T1, T2, 3, 3, 1, 1, 2, 2, 3, 0, 0, failed.error]);
    expect(raw.status.lastSuccessfulExecution).toBeNull();
    expect(await jobs.get(keyOf(job))).toEqual(committed);

    // The form items had before: every id an attribute, executions as objects.
    await table.client.send(new PutCommand({ TableName: TABLE, Item: { ...itemKeys(job), ...committed } }));
    expect(await jobs.get(keyOf(job))).toEqual(committed);
  });

  it.each([1, 2, 3, 5])('lists every job once, with its idle rounds, in pages of %i', async (top) => {
    const jobs = new DynamoDbJobStore(table.client, TABLE);
    const runs = new DynamoDbJobRunStore(table.client, TABLE);
    const servicePrincipalId = `sp-list-${top}`;
    const all = [await jobAtRest(servicePrincipalId, '1'), await jobAtRest(servicePrincipalId, '2'), await jobAtRest(servicePrincipalId, '3'), await jobAtRest(servicePrincipalId, '4')];
    // Jobs 1 and 2 have idle rounds, 3 and 4 none; a deleted job's are left for its purge, sorted first: a page
    // starts with them and ends on a job whose idle rounds come next.
    for (const job of [all[0]!, all[1]!]) await runs.recordIdleRound(job, { activityIdentifier: `idle-${job.id}`, at: T1 });
    const deleted = await jobAtRest(servicePrincipalId, '0');
    await runs.recordIdleRound(deleted, { activityIdentifier: 'idle-deleted', at: T1 });
    await jobs.delete(keyOf(deleted), deleted.version);

    const listed: StoredJob[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const result = await jobs.list(TENANT, servicePrincipalId, top, cursor);
      expect(result.jobs.length).toBeLessThanOrEqual(top);
      listed.push(...result.jobs);
      cursor = result.cursor;
      if (!cursor) break;
    }
    expect(cursor).toBeNull();
    expect(listed.map((job) => job.id)).toEqual(all.map((job) => job.id).sort());
    for (const job of listed) expect(job).toEqual(await jobs.get(keyOf(job)));
    expect(listed.filter((job) => job.status.lastExecution?.activityIdentifier.startsWith('idle-scim')).length).toBe(2);
  });
});
