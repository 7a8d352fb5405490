import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices } from '../../functions/config/services.ts';
import { systemClock } from '../../functions/ports/clock.ts';
import { WATERMARK_RENEWAL_MS } from '../../functions/domain/idle-rounds.ts';
import { meterConsumedCapacity } from '../support/consumed-capacity.ts';
import { startSyncHarness, workerContext, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 5, seedGroups: 1 });
});
afterAll(async () => h?.close());

/** A worker whose every port call is counted as `port.method`. */
function countingWorker() {
  const calls: string[] = [];
  const run = wrappedSyncRun(systemClock, (port) => {
    const name = port.constructor.name;
    return new Proxy(port, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || property === 'close') return value;
        return (...args: unknown[]) => {
          calls.push(`${name}.${String(property)}`);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  });
  return { calls, run };
}

/** The job item and its idle rounds item as stored (undefined when absent). */
async function rawItems(jobId: string) {
  const { dynamo, env } = getServices();
  const pk = `T#${h.tenantId}#SP#${h.servicePrincipalId}`;
  const read = async (sk: string) => (await dynamo.send(new GetCommand({ TableName: env.TABLE_NAME, Key: { pk, sk } }))).Item;
  return { job: await read(`JOB#${jobId}`), idle: await read(`JOB#${jobId}#IDLE`), pk };
}

describe('an idle tick', () => {
  it('reads the job once and records the round with one conditional write, touching nothing else', async () => {
    const jobId = await h.startedJob();
    const tick = { tenantId: h.tenantId, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'schedule' as const };
    // The first idle round writes the position it read into the job item (none has yet); the next ones leave it.
    const first = countingWorker();
    expect(await first.run(tick, () => workerContext().getRemainingTimeInMillis())).toBe('steadyState');
    expect(first.calls.filter((call) => call.startsWith('DynamoDb'))).toEqual(['DynamoDbJobStore.get', 'DynamoDbJobRunStore.renewWatermark']);
    const before = (await h.getJob(jobId)).status;
    h.scim.clearRequests();

    const { calls, run } = countingWorker();
    expect(await run(tick, () => workerContext().getRemainingTimeInMillis())).toBe('steadyState');

    const store = calls.filter((call) => !call.startsWith('GraphDirectorySource') && !call.startsWith('HttpScimTarget'));
    expect(store).toEqual(['DynamoDbJobStore.get', 'DynamoDbJobRunStore.recordIdleRound']);
    expect(calls.filter((call) => call.startsWith('GraphDirectorySource'))).toEqual(['GraphDirectorySource.readPage']);
    expect(h.scim.requests()).toEqual([]);
    const after = (await h.getJob(jobId)).status;
    expect(after.lastExecution.activityIdentifier).not.toBe(before.lastExecution.activityIdentifier);
    expect(after.lastExecution).toMatchObject({ state: 'Succeeded', countImported: 0, countExported: 0 });
    expect(after.steadyStateLastAchievedTime >= before.steadyStateLastAchievedTime).toBe(true);
    expect(after.steadyStateFirstAchievedTime).toBe(before.steadyStateFirstAchievedTime);
    expect(after.lastSuccessfulExecutionWithExports).toEqual(before.lastSuccessfulExecutionWithExports);
  });

  it('takes the lease as usual when the first page has changes, and applies them', async () => {
    const jobId = await h.startedJob();
    const [user] = await h.listAll('users', 'id,userPrincipalName');
    await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'Peeked' });

    const { calls, run } = countingWorker();
    const tick = { tenantId: h.tenantId, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'schedule' as const };
    expect(await run(tick, () => workerContext().getRemainingTimeInMillis())).toBe('steadyState');

    expect(calls).toContain('DynamoDbJobRunStore.acquireLease');
    expect(calls).not.toContain('DynamoDbJobRunStore.recordIdleRound');
    // The page read before the lease is applied, not read again.
    expect(calls.filter((call) => call === 'GraphDirectorySource.readPage').length).toBe(2);
    const account = (h.scim.resources('Users') as Record<string, any>[]).find((candidate) => candidate.userName === user.userPrincipalName);
    expect(account?.title).toBe('Peeked');
  });

  it('consumes 1 read unit in all (half of one for the job items) and 1 write unit, and writes none to the job item', async () => {
    const jobId = await h.startedJob();
    // The first idle tick after the run renews the job's watermark; the ones after it cost the same.
    const metered = async (run: () => Promise<unknown>) => {
      const meter = meterConsumedCapacity(getServices().dynamo);
      try {
        await run();
      } finally {
        meter.stop();
      }
      // The secrets read belongs to connecting to source and target, not to the job's own items.
      const own = meter.entries.filter((entry) => entry.item !== 'SECRETS');
      return { calls: own.map((entry) => `${entry.command} ${entry.item}`), jobRead: own.reduce((sum, entry) => sum + entry.read, 0), ...meter.total() };
    };
    const renewal = await metered(async () => expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState'));
    expect(renewal.calls).toEqual(['Query query JOB', 'UpdateItem JOB']);
    for (let tick = 0; tick < 2; tick += 1) {
      const idle = await metered(async () => expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState'));
      expect(idle.calls).toEqual(['Query query JOB', 'PutItem IDLE']);
      // The job and its idle rounds fit in 4 KB together: half of one eventually consistent read unit.
      expect(idle.jobRead).toBe(0.5);
      expect(idle.read).toBe(1);
      expect(idle.write).toBe(1);
    }

    // Half a day later (on the worker's clock) the position is renewed again: one write of the job item.
    const later = { now: () => new Date(Date.now() + WATERMARK_RENEWAL_MS) };
    const run = wrappedSyncRun(later, (port) => port);
    const tick = { tenantId: h.tenantId, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'schedule' as const };
    const from = later.now().getTime();
    const renewedLater = await metered(async () => expect(await run(tick, () => workerContext().getRemainingTimeInMillis())).toBe('steadyState'));
    expect(renewedLater.calls).toEqual(['Query query JOB', 'UpdateItem JOB']);
    expect(Date.parse((await rawItems(jobId)).job!.run.watermarkAt)).toBeGreaterThanOrEqual(from);
  });

  it('works on a job item stored before idle rounds had an item of their own', async () => {
    const jobId = await h.startedJob();
    const { dynamo, env } = getServices();
    const before = await rawItems(jobId);
    // As the previous release left a job: its idle rounds written into the job item itself, nothing beside it,
    // and without the run fields added since (their defaults apply).
    const { escrowCursor: _cursor, notifications: _notifications, reconciledAt: _reconciled, watermarkAt: _at, ...oldRun } = before.job!.run;
    await dynamo.send(new PutCommand({ TableName: env.TABLE_NAME, Item: { ...before.job, run: oldRun } }));
    await dynamo.send(new DeleteCommand({ TableName: env.TABLE_NAME, Key: { pk: before.pk, sk: `JOB#${jobId}#IDLE` } }));

    // Its first idle round renews its watermark, in the job item; the next one is recorded beside it.
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const renewed = await rawItems(jobId);
    expect(renewed.job!.version).toBe(before.job!.version + 1);
    expect(renewed.job!.run.watermarkAt).toEqual(expect.any(String));
    const status = (await h.getJob(jobId)).status;
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const idled = await rawItems(jobId);
    expect(idled.job!.version).toBe(renewed.job!.version);
    expect(idled.idle).toMatchObject({ basis: renewed.job!.version });
    const shown = (await h.getJob(jobId)).status;
    expect(shown.lastExecution.activityIdentifier).not.toBe(status.lastExecution.activityIdentifier);
    expect(shown.lastExecution.activityIdentifier).toBe(idled.idle!.activityIdentifier);
    expect(shown.steadyStateLastAchievedTime).toBe(idled.idle!.at);

    // A change after it is read from the idle round's watermark, applied, and the job item takes the round over.
    const [user] = await h.listAll('users', 'id,userPrincipalName');
    await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'After the migration' });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const account = (h.scim.resources('Users') as Record<string, any>[]).find((candidate) => candidate.userName === user.userPrincipalName);
    expect(account?.title).toBe('After the migration');
    const ran = await rawItems(jobId);
    expect(ran.job!.version).toBeGreaterThan(before.job!.version);
    expect(ran.job!.run.notifications).not.toBeNull();
  });
});
