import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AesGcmSecretCipher } from '../adapters/crypto/aes-gcm-secret-cipher.ts';
import { KmsSecretCipher } from '../adapters/crypto/kms-secret-cipher.ts';
import { CachingSecretCipher } from '../adapters/crypto/caching-secret-cipher.ts';
import { DynamoDbJobStore } from '../adapters/dynamodb/dynamodb-job-store.ts';
import { DynamoDbJobQuota } from '../adapters/dynamodb/dynamodb-job-quota.ts';
import { DynamoDbLinkStore } from '../adapters/dynamodb/dynamodb-link-store.ts';
import { DynamoDbSecretsVault } from '../adapters/dynamodb/dynamodb-secrets-vault.ts';
import { DynamoDbSchemaStore } from '../adapters/dynamodb/dynamodb-schema-store.ts';
import { DynamoDbJobStatePurge } from '../adapters/dynamodb/dynamodb-job-state-purge.ts';
import { DynamoDbProvisioningLog } from '../adapters/dynamodb/dynamodb-provisioning-log.ts';
import { LambdaSyncTrigger } from '../adapters/lambda/lambda-sync-trigger.ts';
import { LambdaWorkerActions } from '../adapters/lambda/lambda-worker-actions.ts';
import { EventBridgeJobSchedules } from '../adapters/scheduler/eventbridge-job-schedules.ts';
import { systemClock } from '../ports/clock.ts';
import { makeJobCommands, type JobCommands } from '../use-cases/job-commands.ts';
import { makePurgeJob } from '../use-cases/purge-job.ts';
import type { JobKey } from '../schemas/stored-job.ts';
import { parseDeployedEnv, type DeployedEnv } from './env.ts';

/**
 * The composition root: SDK clients and adapters built once per Lambda container from the environment. The local
 * stack sets endpoint overrides, so the very same adapters talk to dynalite and the local emulators.
 */
function build(env: DeployedEnv) {
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: env.DYNAMODB_ENDPOINT }), {
    marshallOptions: { removeUndefinedValues: true },
  });
  // One decrypt per secrets version and 15 minutes in a warm worker, not one per tick.
  const cipher = new CachingSecretCipher(
    env.LOCAL_SECRETS_KEY
      ? new AesGcmSecretCipher(Buffer.from(env.LOCAL_SECRETS_KEY, 'base64'))
      : new KmsSecretCipher(new KMSClient({}), env.SECRETS_KEY_ID),
  );
  const jobs = new DynamoDbJobStore(dynamo, env.TABLE_NAME);
  const secrets = new DynamoDbSecretsVault(dynamo, env.TABLE_NAME, cipher);
  const links = new DynamoDbLinkStore(dynamo, env.TABLE_NAME);
  const schemas = new DynamoDbSchemaStore(dynamo, env.TABLE_NAME);
  const purges = new DynamoDbJobStatePurge(dynamo, env.TABLE_NAME);
  const schedules = new EventBridgeJobSchedules({
    client: new SchedulerClient({ endpoint: env.SCHEDULER_ENDPOINT }),
    groupName: env.SCHEDULE_GROUP_NAME,
    targetArn: env.SYNC_FUNCTION_ARN,
    roleArn: env.SCHEDULER_ROLE_ARN,
    deadLetterArn: env.SCHEDULER_DLQ_ARN,
    flexibleWindowMinutes: env.SCHEDULE_FLEXIBLE_WINDOW_MINUTES,
  });
  const lambda = new LambdaClient({ endpoint: env.LAMBDA_ENDPOINT });
  const trigger = new LambdaSyncTrigger(lambda, env.SYNC_FUNCTION_ARN);
  const mode: 'local' | 'deployed' = env.LOCAL_SECRETS_KEY ? 'local' : 'deployed';
  return {
    env,
    mode,
    dynamo,
    jobs,
    secrets,
    links,
    schemas,
    schedules,
    clock: systemClock,
    trigger,
    worker: new LambdaWorkerActions(lambda, env.SYNC_FUNCTION_ARN),
    purges,
    provisioningLog: new DynamoDbProvisioningLog(dynamo, env.TABLE_NAME, env.PROVISIONING_LOG_RETENTION_DAYS),
    /** The worker's purge of deleted jobs (functions/workers/sync-job.ts). */
    purgeJob: makePurgeJob({ jobs, purges, schedules, clock: systemClock, settleMs: env.JOB_PURGE_SETTLE_SECONDS * 1000 }),
  };
}

export type Services = ReturnType<typeof build>;

let services: Services | undefined;

/** Built on first use (cold start) and reused by every invocation of the container. */
export function getServices(): Services {
  services ??= build(parseDeployedEnv());
  return services;
}

let commands: JobCommands | undefined;

/**
 * The job API's commands over the same services, built on first use. Apart from {@link getServices} so that the
 * worker, which never calls them, neither builds them nor bundles them (with the job lifecycle, about 10 KB).
 */
export function getJobCommands(): JobCommands {
  if (commands) return commands;
  const { env, dynamo, jobs, schedules, trigger, secrets, purges, schemas, clock } = getServices();
  commands = makeJobCommands({
    jobs,
    schedules,
    trigger,
    secrets,
    purges,
    purgeSchedules: schedules,
    schemas,
    quota: new DynamoDbJobQuota(dynamo, env.TABLE_NAME),
    limits: { perServicePrincipal: env.MAX_JOBS_PER_SERVICE_PRINCIPAL, perTenant: env.MAX_JOBS_PER_TENANT },
    clock,
  });
  return commands;
}

/** For the HTTP edge's existence-first rule (RouteOptions.jobExists): one strongly consistent read of the job. */
export async function jobExists(key: JobKey): Promise<boolean> {
  return (await getServices().jobs.get(key)) !== null;
}
