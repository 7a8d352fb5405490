import type { Context } from 'aws-lambda';
import { getServices } from '../config/services.ts';
import { getWorkerServices } from '../config/worker-services.ts';
import { logger } from '../observability/logger.ts';
import { workerEventSchema, type CredentialsValidation, type ProvisionOnDemandResult } from '../schemas/sync-tick.ts';

/**
 * The sync worker: one run of one job per invocation (schedule tick or start), a slice of a deleted job's purge
 * (its purge schedule), or, for the API, a credentials check or an on-demand provisioning (it alone may decrypt
 * saved secrets).
 */
export async function handler(
  event: unknown,
  context: Context,
): Promise<{ outcome: string } | CredentialsValidation | ProvisionOnDemandResult> {
  const parsed = workerEventSchema.safeParse(event);
  if (!parsed.success) {
    // Not retryable: a malformed payload stays malformed.
    logger.error('Ignoring an invalid worker event', { issues: parsed.error.issues.map((issue) => issue.path.join('.')) });
    return { outcome: 'invalidTick' };
  }
  if ('action' in parsed.data && parsed.data.action === 'purgeJob') {
    const purge = parsed.data;
    // A failure throws: the invocation fails, and the purge schedule's next tick takes it up again.
    const { outcome, removed } = await getServices().purgeJob(purge, () => context.getRemainingTimeInMillis());
    logger.info('Job purge', { jobId: purge.jobId, outcome, removed });
    return { outcome };
  }
  const services = getWorkerServices();
  if ('action' in parsed.data) {
    return parsed.data.action === 'validateCredentials'
      ? services.validateCredentials(parsed.data)
      : services.provisionOnDemand(parsed.data);
  }
  const tick = parsed.data;
  const outcome = await services.run(tick, () => context.getRemainingTimeInMillis());
  logger.info('Sync run finished', { jobId: tick.jobId, trigger: tick.trigger, outcome });
  return { outcome };
}
