import type { TaskExecution } from '../../schemas/graph.ts';
import { storedJobSchema, type JobKey, type StoredJob } from '../../schemas/stored-job.ts';
import { keys } from './table-keys.ts';

/**
 * The job item's form of a stored job. Capacity is billed on an item's bytes, attribute names included, and an idle
 * tick reads the job item with its idle rounds item in one Query (one read unit only while both fit in 4 KB): the
 * status's three executions, often the same one, spelled out 14 field names each, were a quarter of the job item.
 * So an execution is stored as a list of its values in this order, and the job's tenant, service principal and id,
 * which its keys hold, are not stored again. Items written before (objects, the ids in attributes) read as they are.
 */
const EXECUTION_FIELDS = [
  'activityIdentifier',
  'state',
  'timeBegan',
  'timeEnded',
  'countEntitled',
  'countEntitledForProvisioning',
  'countEscrowed',
  'countEscrowedRaw',
  'countExported',
  'countExports',
  'countImported',
  'countImportedDeltas',
  'countImportedReferenceDeltas',
  'error',
] as const satisfies readonly (keyof TaskExecution)[];

/** The status fields that hold an execution. */
export const EXECUTION_STATUS_FIELDS = ['lastExecution', 'lastSuccessfulExecution', 'lastSuccessfulExecutionWithExports'] as const;

type Item = Record<string, unknown>;

/** An execution as the item stores it (a status field's value in a job write or a run's UpdateItem). */
export function executionItem(execution: TaskExecution | null): unknown[] | null {
  return execution && EXECUTION_FIELDS.map((field) => execution[field]);
}

function executionFromItem(stored: unknown): unknown {
  if (!Array.isArray(stored)) return stored;
  return Object.fromEntries(EXECUTION_FIELDS.map((field, index) => [field, stored[index]]));
}

/** A status (or part of one, as a run commits it) with its executions in the item's form. */
export function statusItem(status: Item): Item {
  const item: Item = { ...status };
  for (const field of EXECUTION_STATUS_FIELDS) {
    if (item[field] !== undefined) item[field] = executionItem(item[field] as TaskExecution | null);
  }
  return item;
}

export function jobItem(job: StoredJob): Item {
  const { tenantId, servicePrincipalId, id, ...stored } = job;
  return { pk: keys.servicePrincipal(tenantId, servicePrincipalId), sk: keys.job(id), ...stored, status: statusItem(job.status) };
}

/** The job id a job item's sort key names. */
export function jobIdOf(item: Item): string {
  return String(item.sk).slice(keys.job('').length);
}

/** The job a job item's keys name: `T#<tenantId>#SP#<servicePrincipalId>` (a tenant id is a GUID) and `JOB#<jobId>`. */
export function jobKeyOf(item: Item): JobKey {
  const partition = String(item.pk);
  const at = partition.indexOf('#SP#');
  return { tenantId: partition.slice('T#'.length, at), servicePrincipalId: partition.slice(at + '#SP#'.length), jobId: jobIdOf(item) };
}

export function jobFromItem(item: Item): StoredJob {
  const { pk: _pk, sk: _sk, ...stored } = item;
  const { tenantId, servicePrincipalId, jobId } = jobKeyOf(item);
  const status = item.status as Item | undefined;
  const decoded: Item | undefined = status && { ...status };
  if (status && decoded) for (const field of EXECUTION_STATUS_FIELDS) decoded[field] = executionFromItem(status[field]);
  return storedJobSchema.parse({ tenantId, servicePrincipalId, id: jobId, ...stored, status: decoded });
}
