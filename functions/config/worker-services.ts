import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDbJobRunStore } from '../adapters/dynamodb/dynamodb-job-run-store.ts';
import { makeSyncRun } from '../use-cases/sync-run.ts';
import { logger } from '../observability/logger.ts';
import { makeConnectJob, makeScimTargetFactory } from './connect-job.ts';
import { makeValidateCredentials } from '../use-cases/validate-credentials.ts';
import { makeProvisionOnDemand } from '../use-cases/provision-on-demand.ts';
import { getServices } from './services.ts';
import { LambdaSyncTrigger } from '../adapters/lambda/lambda-sync-trigger.ts';
import { LambdaClient } from '@aws-sdk/client-lambda';

/** Metric namespace and name the deployed alarms watch. */
export const METRICS_NAMESPACE = 'GraphSyncJobs';
export const QUARANTINE_METRIC = 'JobQuarantined';

function build() {
  const services = getServices();
  const { env } = services;
  // The deployed alarm selects the metric by its service dimension: POWERTOOLS_SERVICE_NAME, set by the stack.
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'sync-worker' });
  const connect = makeConnectJob(env, services.secrets, services.schemas, services.mode);
  const run = makeSyncRun({
    jobs: services.jobs,
    runs: new DynamoDbJobRunStore(services.dynamo, env.TABLE_NAME),
    links: services.links,
    escrows: services.links,
    schedules: services.schedules,
    trigger: new LambdaSyncTrigger(new LambdaClient({ endpoint: env.LAMBDA_ENDPOINT }), env.SYNC_FUNCTION_ARN),
    connect,
    clock: services.clock,
    concurrency: env.SCIM_CONCURRENCY,
    onTriggerFailure: (key, error) => logger.warn('Continuation could not be triggered', { jobId: key.jobId, error: error as Error }),
    onQuarantine: (job, error) => {
      logger.warn('Job quarantined', { jobId: job.id, code: error.code, message: error.message });
      metrics.addMetric(QUARANTINE_METRIC, MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
    },
  });
  const validateCredentials = makeValidateCredentials({
    jobs: services.jobs,
    secrets: services.secrets,
    mode: services.mode,
    targetFor: makeScimTargetFactory(env, services.mode),
  });
  const provisionOnDemand = makeProvisionOnDemand({ jobs: services.jobs, links: services.links, connect, clock: services.clock });
  return { run, validateCredentials, provisionOnDemand };
}

let workerServices: ReturnType<typeof build> | undefined;

export function getWorkerServices() {
  workerServices ??= build();
  return workerServices;
}
