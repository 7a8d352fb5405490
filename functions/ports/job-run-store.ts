import type { SynchronizationStatus } from '../schemas/graph.ts';
import type { IdleRounds, JobKey, RunState, StoredJob } from '../schemas/stored-job.ts';

/** The worker's progress after a page: written with the lease heartbeat in one conditional write. */
export interface RunCommit {
  run: Partial<Omit<RunState, 'leaseOwner' | 'epoch'>>;
  status?: Partial<Omit<SynchronizationStatus, 'code'>>;
  /** Releases the lease with this write (end of the run). */
  release: boolean;
}

/** A round that found nothing to do: the activity the status shows for it, and when. */
export type IdleRound = Pick<IdleRounds, 'activityIdentifier' | 'at'>;

/**
 * The sync worker's writes to the job item. Each is conditional on holding the lease (and on the epoch the run
 * started from), so a restart or a second worker is never overwritten; each returns the job as stored after the
 * write, so the worker learns of a pause without another read.
 */
export interface JobRunStore {
  /** Takes the lease if free or expired; null when another live run holds it or the job changed meanwhile. */
  acquireLease(job: StoredJob, owner: string, leaseUntil: string, now: string): Promise<StoredJob | null>;
  /** null when the lease was lost or the job was reset (epoch changed) since the run began. */
  commit(key: JobKey, owner: string, epoch: number, commit: RunCommit): Promise<StoredJob | null>;
  /**
   * Bumps `run.countsDirty` (and the version): links were written outside a leased run's commits, so the next
   * round's end counts them again. No-op for a job that is gone.
   */
  markCountsDirty(key: JobKey): Promise<void>;
  /**
   * Records a round that found nothing to do, without taking the lease, beside the job item rather than in it: it
   * holds while the job is still at the version `job` was read at (with no live lease, which the caller checked),
   * and is void once the job is written again. Returns the job with the round; null when a later round on the same
   * version was recorded meanwhile.
   */
  recordIdleRound(job: StoredJob, round: IdleRound): Promise<StoredJob | null>;
  /**
   * Writes an idle round into the job item with the position it read (`run.watermark`, `run.watermarkAt` = its
   * time), on the version `job` was read at and with no live lease; the version bump voids the idle rounds item.
   * null when the job changed or a run took the lease meanwhile.
   */
  renewWatermark(job: StoredJob, round: IdleRound & { watermark: string }): Promise<StoredJob | null>;
  /**
   * A change arrived while a run holds the lease: that run goes on to a fresh steady state. One write, and none
   * when one is already asked for; false when no live run holds the lease (then a run of its own is due).
   */
  requestRerun(job: StoredJob, now: string): Promise<boolean>;
  /** Saves what the worker found of the job's change subscriptions (any run may, lease or not). */
  noteNotifications(job: StoredJob, notifications: NonNullable<RunState['notifications']>): Promise<void>;
}
