import type { JobKey } from '../schemas/stored-job.ts';

/** A deleted job whose state is still to be removed. */
export interface PendingPurge {
  key: JobKey;
  /** When the job was deleted (the last attempt, if it was asked for more than once). */
  deletedAt: string;
}

/**
 * The state a job leaves behind when it is deleted: everything in its own partition (links of every generation,
 * group memberships, escrows) and its customised schema versions. Deleting a job records a pending purge; the sync
 * worker removes the state in slices and then drops the record. Nothing else is ever touched: not the job item,
 * not the service principal's secrets, not another job's items.
 */
export interface JobStatePurge {
  /** Records that the job's state is to be removed; a repeated record moves `deletedAt` to the later time. */
  record(purge: PendingPurge): Promise<void>;
  /** The pending purge of this job, or null when there is none. Strongly consistent. */
  pending(key: JobKey): Promise<PendingPurge | null>;
  /** Removes up to about `limit` items of the job's state; returns how many it removed, 0 once nothing is left. */
  removeSome(key: JobKey, limit: number): Promise<number>;
  /** Drops the record: the purge is complete, or was not to happen. */
  forget(key: JobKey): Promise<void>;
}
