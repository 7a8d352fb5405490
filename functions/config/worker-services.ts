import type { Logger } from '@aws-lambda-powertools/logger';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDbAssignmentStore } from '../adapters/dynamodb/dynamodb-assignment-store.ts';
import { DynamoDbReferenceStore } from '../adapters/dynamodb/dynamodb-reference-store.ts';
import { DynamoDbCreateIntentStore } from '../adapters/dynamodb/dynamodb-create-intent-store.ts';
import { DynamoDbEscrowStore } from '../adapters/dynamodb/dynamodb-escrow-store.ts';
import { DynamoDbJobRunStore } from '../adapters/dynamodb/dynamodb-job-run-store.ts';
import { DynamoDbNotificationStore } from '../adapters/dynamodb/dynamodb-notification-store.ts';
import { DynamoDbMembershipStore } from '../adapters/dynamodb/dynamodb-membership-store.ts';
import { LambdaSyncTrigger } from '../adapters/lambda/lambda-sync-trigger.ts';
import { ENTRA_ESCROW_THRESHOLDS } from '../domain/escrow-policy.ts';
import { JOB_QUARANTINED_MESSAGE } from '../observability/alarmed-messages.ts';
import { logger } from '../observability/logger.ts';
import { makeProvisionOnDemand } from '../use-cases/provision-on-demand.ts';
import { makeKeepSubscriptions } from '../use-cases/change-notifications.ts';
import { makeSyncRun, type RunObserver, type SyncRunDeps } from '../use-cases/sync-run.ts';
import { makeValidateCredentials } from '../use-cases/validate-credentials.ts';
import { makeConnectJob, makeScimTargetFactory } from './connect-job.ts';
import { getServices, type Services } from './services.ts';

/** The worker's stores and run settings over the shared composition root (tests build the same from their own). */
export function syncRunDeps(services: Services, observer?: RunObserver): SyncRunDeps {
  const { env, dynamo } = services;
  const runs = new DynamoDbJobRunStore(dynamo, env.TABLE_NAME);
  const notifications = new DynamoDbNotificationStore(dynamo, env.TABLE_NAME);
  return {
    jobs: services.jobs,
    runs,
    links: services.links,
    memberships: new DynamoDbMembershipStore(dynamo, env.TABLE_NAME),
    escrows: new DynamoDbEscrowStore(dynamo, env.TABLE_NAME),
    intents: new DynamoDbCreateIntentStore(dynamo, env.TABLE_NAME),
    assignments: new DynamoDbAssignmentStore(dynamo, env.TABLE_NAME),
    references: new DynamoDbReferenceStore(dynamo, env.TABLE_NAME),
    schedules: services.schedules,
    provisioningLog: services.provisioningLog,
    trigger: new LambdaSyncTrigger(new LambdaClient({ endpoint: env.LAMBDA_ENDPOINT }), env.SYNC_FUNCTION_ARN),
    connect: makeConnectJob(env, services.secrets, services.schemas, services.mode),
    clock: services.clock,
    concurrency: env.SCIM_CONCURRENCY,
    escrowThresholds: { ...ENTRA_ESCROW_THRESHOLDS, minimum: env.ESCROW_THRESHOLD_MINIMUM },
    notificationSettleMs: env.NOTIFICATION_SETTLE_MS,
    forgetSubscriber: (tenantId, sourceKey, job) => notifications.removeJob(tenantId, sourceKey, job),
    keepSubscriptions: makeKeepSubscriptions({
      store: notifications,
      runs,
      clock: services.clock,
      notificationUrl: env.NOTIFICATION_URL ?? null,
    }),
    ...(observer ? { observer } : {}),
  };
}

/**
 * What the worker logs about runs. The logger keeps `message` for its own text: causes go under `reason`. The
 * deployed alarm on quarantined jobs counts the quarantine lines (a metric filter on the worker's log group).
 */
export function makeRunObserver(log: Pick<Logger, 'warn'>): RunObserver {
  return {
    quarantined: (job, error, reason) =>
      log.warn(JOB_QUARANTINED_MESSAGE, { jobId: job.id, quarantineReason: reason, code: error.code, reason: error.message }),
    refused: (job, count, sample) => log.warn('Objects refused by the target', { jobId: job.id, count, first: sample }),
    interrupted: (job, error) => log.warn('Sync run stopped early', { jobId: job.id, code: error.code, reason: error.message }),
    triggerFailed: (key, error) => log.warn('Continuation could not be triggered', { jobId: key.jobId, error: error as Error }),
    logWriteFailed: (key, count, error) => log.warn('Provisioning records could not be written', { jobId: key.jobId, count, error: error as Error }),
    subscriptionsFailed: (key, error) => log.warn('Change subscriptions could not be kept', { jobId: key.jobId, error: error as Error }),
  };
}

function build() {
  const services = getServices();
  const { env } = services;
  const deps = syncRunDeps(services, makeRunObserver(logger));
  const run = makeSyncRun(deps);
  const validateCredentials = makeValidateCredentials({
    jobs: services.jobs,
    secrets: services.secrets,
    mode: services.mode,
    targetFor: makeScimTargetFactory(env, services.mode),
  });
  const provisionOnDemand = makeProvisionOnDemand({ ...deps, clock: services.clock });
  return { run, validateCredentials, provisionOnDemand };
}

let workerServices: ReturnType<typeof build> | undefined;

export function getWorkerServices() {
  workerServices ??= build();
  return workerServices;
}
