import type { IdleRounds, StoredJob } from '../schemas/stored-job.ts';
import { statusAfter } from './run-status.ts';

/**
 * The job as its idle rounds left it: the watermark they reached and the status of the last one, over the job item
 * they were recorded on. Rounds recorded on an older version of the job are void: whoever wrote the job since read
 * them and wrote their effect into it (or they found the job changed, and a later tick reads again).
 */
export function withIdleRounds(job: StoredJob, idle: IdleRounds | null): StoredJob {
  if (!idle || idle.basis !== job.version) return job;
  const status = statusAfter(job.status, { kind: 'idleRound', activityIdentifier: idle.activityIdentifier }, idle.at);
  return { ...job, status: { ...job.status, ...status }, run: { ...job.run, watermark: idle.watermark } };
}
