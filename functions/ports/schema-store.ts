import type { SynchronizationSchema } from '../domain/mapping/schema.ts';
import type { JobKey } from '../schemas/stored-job.ts';

/**
 * Customised synchronization schemas, one item per version: the job names the version in force, so a schema
 * written by a request whose job update then failed is never read.
 */
export interface SchemaStore {
  get(key: JobKey, version: number): Promise<SynchronizationSchema | null>;
  put(key: JobKey, version: number, schema: SynchronizationSchema): Promise<void>;
  /** Every version but `keep` (all of them when null). */
  removeOthers(key: JobKey, keep: number | null): Promise<void>;
}
