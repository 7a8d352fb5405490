import type { Clock } from '../ports/clock.ts';
import type { JobStatePurge } from '../ports/job-state-purge.ts';
import type { JobStore } from '../ports/job-store.ts';
import type { PurgeSchedules } from '../ports/purge-schedules.ts';
import type { PurgeJobEvent } from '../schemas/sync-tick.ts';
import type { JobKey } from '../schemas/stored-job.ts';

export interface PurgeJobDeps {
  jobs: JobStore;
  purges: JobStatePurge;
  schedules: PurgeSchedules;
  clock: Clock;
  /**
   * How long after the deletion the purge keeps looking: a run of the job that was in flight when it was deleted
   * may still write one more page of links until the worker's timeout ends it. The deployment sets it from that
   * timeout.
   */
  settleMs: number;
  /** Items removed per call of the port; default 500. */
  batchSize?: number;
  /** Time left in hand when an invocation stops; default 10 s. */
  marginMs?: number;
  /**
   * Longest slice one invocation works: under the schedule's one-minute rate, so invocations do not overlap
   * (they would only do the same deletes twice); default 50 s.
   */
  maxSliceMs?: number;
}

/**
 * - `purged`: nothing is left; the record and the schedule are gone.
 * - `continuing`: out of time with items left; the schedule's next tick goes on.
 * - `settling`: nothing is left for now, but a run in flight at the deletion could still write; the next tick looks again.
 * - `waitingForDelete`: the job still exists, its delete was asked for a moment ago; the next tick looks again.
 * - `cancelled`: the job still exists and its delete did not happen; the purge is dropped and its state kept.
 * - `nothingToPurge`: no purge is pending (a tick that came before its schedule was removed).
 */
export type PurgeOutcome = 'purged' | 'continuing' | 'settling' | 'waitingForDelete' | 'cancelled' | 'nothingToPurge';

const DEFAULT_BATCH = 500;
const DEFAULT_MARGIN_MS = 10_000;
const DEFAULT_MAX_SLICE_MS = 50_000;

/**
 * One invocation of a deleted job's purge: remove its state, slice by slice, while the invocation has time. The
 * purge schedule fires every minute until this reports `purged` (or `cancelled`), so a purge of a million items
 * takes several invocations and a failed invocation (it throws) is simply taken up by the next tick.
 */
export function makePurgeJob(deps: PurgeJobDeps) {
  const { jobs, purges, schedules, clock, settleMs } = deps;
  const batchSize = deps.batchSize ?? DEFAULT_BATCH;
  const marginMs = deps.marginMs ?? DEFAULT_MARGIN_MS;
  const maxSliceMs = deps.maxSliceMs ?? DEFAULT_MAX_SLICE_MS;

  /** Record first, schedule second: a schedule left behind finds no record and removes itself. */
  async function finish(key: JobKey, scheduleName: string): Promise<void> {
    await purges.forget(key);
    await schedules.remove(scheduleName);
  }

  return async function purgeJob(event: PurgeJobEvent, remainingMs: () => number): Promise<{ outcome: PurgeOutcome; removed: number }> {
    const key: JobKey = { tenantId: event.tenantId, servicePrincipalId: event.servicePrincipalId, jobId: event.jobId };
    const [pending, job] = await Promise.all([purges.pending(key), jobs.get(key)]);
    const sinceDeletion = pending ? clock.now().getTime() - Date.parse(pending.deletedAt) : Infinity;

    if (job) {
      // The delete set up its purge and then failed, or is about to remove the job: never touch a live job's state.
      if (sinceDeletion < settleMs) return { outcome: 'waitingForDelete', removed: 0 };
      await finish(key, event.scheduleName);
      return { outcome: 'cancelled', removed: 0 };
    }
    if (!pending) {
      await schedules.remove(event.scheduleName);
      return { outcome: 'nothingToPurge', removed: 0 };
    }

    const stopAt = Math.max(marginMs, remainingMs() - maxSliceMs);
    let removed = 0;
    for (;;) {
      if (remainingMs() <= stopAt) return { outcome: 'continuing', removed };
      const lookedAt = clock.now().getTime();
      const count = await purges.removeSome(key, batchSize);
      removed += count;
      if (count > 0) continue;
      // Empty, but only an empty look after the settling time proves no late write can follow.
      if (lookedAt - Date.parse(pending.deletedAt) < settleMs) return { outcome: 'settling', removed };
      await finish(key, event.scheduleName);
      return { outcome: 'purged', removed };
    }
  };
}

export type PurgeJob = ReturnType<typeof makePurgeJob>;
