import type { JobKey } from '../schemas/stored-job.ts';

/** Removes what the sync worker keeps per job (source↔target links, escrows) once the job is deleted. */
export interface JobStateCleaner {
  purge(key: JobKey): Promise<void>;
}
