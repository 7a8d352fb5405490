import type { Context } from 'aws-lambda';
import { getWorkerServices } from '../config/worker-services.ts';
import { logger } from '../observability/logger.ts';
import { syncTickSchema } from '../schemas/sync-tick.ts';

/** The sync worker: one run of one job per invocation (schedule tick or start). */
export async function handler(event: unknown, context: Context): Promise<{ outcome: string }> {
  const tick = syncTickSchema.safeParse(event);
  if (!tick.success) {
    // Not retryable: a malformed payload stays malformed.
    logger.error('Ignoring an invalid sync tick', { issues: tick.error.issues.map((issue) => issue.path.join('.')) });
    return { outcome: 'invalidTick' };
  }
  const outcome = await getWorkerServices().run(tick.data, () => context.getRemainingTimeInMillis());
  logger.info('Sync run finished', { jobId: tick.data.jobId, trigger: tick.data.trigger, outcome });
  return { outcome };
}
