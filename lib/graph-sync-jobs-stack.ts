import { CfnOutput, CfnParameter, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { JobData } from './constructs/job-data.ts';
import { JobsApi } from './constructs/jobs-api.ts';
import { Observability } from './constructs/observability.ts';
import { SecretsKey } from './constructs/secrets-key.ts';
import type { FunctionEnvironment } from './constructs/service-function.ts';
import { SyncWorker } from './constructs/sync-worker.ts';
import type { DeployContext } from './deploy-context.ts';

/** Props of {@link GraphSyncJobsStack}: the validated deploy context (see deploy-context.ts). */
export interface GraphSyncJobsStackProps extends StackProps {
  settings: Omit<DeployContext, 'stackName'>;
}

/**
 * The whole service in one stack, composed of one construct per concern: data, secrets key, sync worker (with its
 * schedules, scheduler role and dead-letter queue), API, observability. The admitted tenants and the token audience
 * come from the deploy context when given there, otherwise from the CloudFormation parameters `AllowedTenants` and
 * `JwtAudience` (`any` tenant is context-only, since it needs the `appIds` allow-list checked at synth).
 */
export class GraphSyncJobsStack extends Stack {
  constructor(scope: Construct, id: string, props: GraphSyncJobsStackProps) {
    super(scope, id, props);
    const { settings } = props;

    const tenants =
      settings.tenants === undefined
        ? new CfnParameter(this, 'AllowedTenants', {
            description: 'Entra tenant ids whose tokens the API accepts, comma-separated',
            allowedPattern: '^[A-Za-z0-9-]{1,64}(,[A-Za-z0-9-]{1,64})*$',
          }).valueAsString
        : settings.tenants === 'any'
          ? 'any'
          : settings.tenants.join(',');
    const audience =
      settings.audience?.join(',') ??
      Fn.join(
        ',',
        new CfnParameter(this, 'JwtAudience', {
          type: 'CommaDelimitedList',
          description: 'Accepted token audiences: the API app registration client id or Application ID URI',
        }).valueAsList,
      );

    const data = new JobData(this, 'Data');
    const secrets = new SecretsKey(this, 'Secrets');
    const environment: FunctionEnvironment = {
      TABLE_NAME: data.table.tableName,
      SECRETS_KEY_ID: secrets.key.keyArn,
      SOURCE_CLIENT_ID: settings.sourceClientId,
      SOURCE_CLIENT_SECRET_ARN: settings.sourceClientSecretArn,
      SCHEDULE_FLEXIBLE_WINDOW_MINUTES: settings.flexibleWindowMinutes?.toString(),
      NOTIFICATION_URL: settings.notificationUrl,
      MAX_JOBS_PER_SERVICE_PRINCIPAL: settings.maxJobsPerServicePrincipal?.toString(),
      MAX_JOBS_PER_TENANT: settings.maxJobsPerTenant?.toString(),
    };
    const sync = new SyncWorker(this, 'Sync', {
      environment: withoutUnset(environment),
      data,
      secrets,
      sourceClientSecretArn: settings.sourceClientSecretArn,
      reservedConcurrency: settings.workerConcurrency,
    });
    const api = new JobsApi(this, 'Api', {
      access: {
        AUTH_TENANTS: tenants,
        AUTH_AUDIENCE: audience,
        ...(settings.appIds ? { AUTH_APP_IDS: settings.appIds.join(',') } : {}),
        ...(settings.loginBaseUrl ? { AUTH_LOGIN_BASE_URL: settings.loginBaseUrl } : {}),
      },
      environment: sync.environment,
      data,
      secrets,
      sync,
    });
    new Observability(this, 'Observability', { api, sync });

    new CfnOutput(this, 'ApiUrl', { value: api.url, description: 'Base URL; append /v1.0/servicePrincipals/...' });
    new CfnOutput(this, 'TableName', { value: data.table.tableName });
    new CfnOutput(this, 'ScheduleGroupName', { value: sync.scheduleGroup.scheduleGroupName });
    new CfnOutput(this, 'SchedulerDeadLetterQueueUrl', { value: sync.deadLetterQueue.queueUrl });
  }
}

function withoutUnset(environment: FunctionEnvironment): FunctionEnvironment {
  return Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined));
}
