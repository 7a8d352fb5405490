import { describe, expect, it } from 'vitest';
import type { JobStatePurge, PendingPurge } from '../../functions/ports/job-state-purge.ts';
import type { JobStore } from '../../functions/ports/job-store.ts';
import type { PurgeSchedules } from '../../functions/ports/purge-schedules.ts';
import type { PurgeJobEvent } from '../../functions/schemas/sync-tick.ts';
import type { StoredJob } from '../../functions/schemas/stored-job.ts';
import { makePurgeJob } from '../../functions/use-cases/purge-job.ts';

const DELETED_AT = Date.parse('2026-06-01T10:00:00.000Z');
const SETTLE_MS = 6 * 60_000;
const event: PurgeJobEvent = { action: 'purgeJob', tenantId: 't', servicePrincipalId: 'sp', jobId: 'scim.x.t', scheduleName: 'purge-x' };
const key = { tenantId: 't', servicePrincipalId: 'sp', jobId: 'scim.x.t' };

/** A job state of `items` items, removed `perCall` at a time, each call taking `callMs` of the invocation's time. */
function world(options: { items: number; pending: boolean; jobExists?: boolean; minutesSinceDeletion: number; callMs?: number }) {
  let items = options.items;
  let pending: PendingPurge | null = options.pending ? { key, deletedAt: new Date(DELETED_AT).toISOString() } : null;
  let elapsedMs = 0;
  const removedSchedules: string[] = [];
  const purges: JobStatePurge = {
    record: async () => undefined,
    pending: async () => pending,
    removeSome: async (_key, limit) => {
      elapsedMs += options.callMs ?? 1_000;
      const removed = Math.min(items, limit);
      items -= removed;
      return removed;
    },
    forget: async () => void (pending = null),
  };
  const schedules: PurgeSchedules = { ensurePurge: async () => undefined, remove: async (name) => void removedSchedules.push(name) };
  const jobs = { get: async () => (options.jobExists ? ({ id: key.jobId } as StoredJob) : null) } as unknown as JobStore;
  const purge = makePurgeJob({
    jobs,
    purges,
    schedules,
    clock: { now: () => new Date(DELETED_AT + options.minutesSinceDeletion * 60_000 + elapsedMs) },
    settleMs: SETTLE_MS,
    batchSize: 100,
  });
  return {
    run: (budgetMs = 5 * 60_000) => purge(event, () => budgetMs - elapsedMs),
    state: () => ({ items, pending: pending !== null, removedSchedules }),
  };
}

describe('makePurgeJob', () => {
  it('works at most one slice per invocation, below the one-minute rate of its schedule', async () => {
    const w = world({ items: 10_000, pending: true, minutesSinceDeletion: 10, callMs: 10_000 });
    expect(await w.run()).toEqual({ outcome: 'continuing', removed: 500 });
    expect(w.state()).toEqual({ items: 9_500, pending: true, removedSchedules: [] });
  });

  it('stops with the margin left when the invocation itself is short', async () => {
    const w = world({ items: 10_000, pending: true, minutesSinceDeletion: 10, callMs: 1_000 });
    expect(await w.run(15_000)).toEqual({ outcome: 'continuing', removed: 500 });
  });

  it('completes only with an empty look after the settling time, then drops the record before the schedule', async () => {
    const early = world({ items: 50, pending: true, minutesSinceDeletion: 1 });
    expect(await early.run()).toEqual({ outcome: 'settling', removed: 50 });
    expect(early.state()).toEqual({ items: 0, pending: true, removedSchedules: [] });

    const late = world({ items: 50, pending: true, minutesSinceDeletion: 6 });
    expect(await late.run()).toEqual({ outcome: 'purged', removed: 50 });
    expect(late.state()).toEqual({ items: 0, pending: false, removedSchedules: ['purge-x'] });
  });

  it.each([
    ['a job whose delete is a moment old', 1, 'waitingForDelete', true, []],
    ['a job whose delete failed long ago', 30, 'cancelled', false, ['purge-x']],
  ] as const)('never removes the state of a live job: %s', async (_name, minutes, outcome, pendingAfter, removedSchedules) => {
    const w = world({ items: 50, pending: true, jobExists: true, minutesSinceDeletion: minutes });
    expect(await w.run()).toEqual({ outcome, removed: 0 });
    expect(w.state()).toEqual({ items: 50, pending: pendingAfter, removedSchedules });
  });

  it('removes a schedule whose purge is already complete', async () => {
    const w = world({ items: 0, pending: false, minutesSinceDeletion: 10 });
    expect(await w.run()).toEqual({ outcome: 'nothingToPurge', removed: 0 });
    expect(w.state().removedSchedules).toEqual(['purge-x']);
  });
});
