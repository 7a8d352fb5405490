import type { JobKey, StoredJob } from '../schemas/stored-job.ts';

export interface JobPage {
  jobs: StoredJob[];
  /** Opaque; present when more jobs follow. */
  cursor: string | null;
}

/** Raised when a conditional write found the job changed (or gone) since it was read. */
export class JobVersionConflictError extends Error {
  constructor(readonly key: JobKey) {
    super(`Job ${key.jobId} changed concurrently`);
    this.name = 'JobVersionConflictError';
  }
}

/** A list cursor this store did not hand out. */
export class InvalidCursorError extends Error {
  constructor() {
    super('The paging cursor is not one this service issued');
    this.name = 'InvalidCursorError';
  }
}

/** Jobs of each tenant's service principals. Every write is conditional, so no update is ever lost. */
export interface JobStore {
  /** Fails with JobVersionConflictError if the id exists. */
  create(job: StoredJob): Promise<void>;
  /** Strongly consistent unless `consistent` is false (for readers whose writes are conditional anyway). */
  get(key: JobKey, options?: { consistent?: boolean }): Promise<StoredJob | null>;
  /** Throws InvalidCursorError for a cursor it did not issue. */
  list(tenantId: string, servicePrincipalId: string, limit: number, cursor: string | null): Promise<JobPage>;
  /** Writes `job` (with version + 1) if the stored version is still `job.version`; returns what was written. */
  replace(job: StoredJob): Promise<StoredJob>;
  /** Deletes the job item if its version is still `version`. */
  delete(key: JobKey, version: number): Promise<void>;
}
