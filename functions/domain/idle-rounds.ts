import type { IdleRounds, StoredJob } from '../schemas/stored-job.ts';
import { statusAfter } from './run-status.ts';

/**
 * The job as its idle rounds left it: the status of the last one over the job item they were recorded on. Rounds
 * recorded on an older version of the job are void: whoever wrote the job since read them and wrote their effect
 * into it (or they found the job changed, and a later tick reads again).
 */
export function withIdleRounds(job: StoredJob, idle: IdleRounds | null): StoredJob {
  if (!idle || idle.basis !== job.version) return job;
  const status = statusAfter(job.status, { kind: 'idleRound', activityIdentifier: idle.activityIdentifier }, idle.at);
  return { ...job, status: { ...job.status, ...status }, run: { ...job.run, watermark: idle.watermark ?? job.run.watermark } };
}

/**
 * How long an idle round keeps the job's watermark rather than the one it read. A round that starts at the end of
 * a round and finds nothing leaves the source where it was: reading again from the old position reads every change
 * since, as reading from the new one would. What ages is the position's delta tokens (Graph keeps them 7 days), so
 * a round renews the job's watermark once this long has passed since the last renewal (a run's commits since make
 * it only younger): an idle tick then writes its small item alone, without a watermark.
 */
export const WATERMARK_RENEWAL_MS = 12 * 60 * 60_000;

/** Whether an idle round at `at` writes the position it read into the job item (see WATERMARK_RENEWAL_MS). */
export function watermarkRenewalDue(job: StoredJob, at: string): boolean {
  return job.run.watermarkAt === null || Date.parse(at) - Date.parse(job.run.watermarkAt) >= WATERMARK_RENEWAL_MS;
}
