import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/ports/clock.ts';
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

describe('an idle tick', () => {
  it('reads the job once and records the round with one conditional write, touching nothing else', async () => {
    const jobId = await h.startedJob();
    const before = (await h.getJob(jobId)).status;
    h.scim.clearRequests();

    const { calls, run } = countingWorker();
    const tick = { tenantId: h.tenantId, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'schedule' as const };
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
});
