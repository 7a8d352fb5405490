import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { apiRoutes, fallbackHandler } from '../../functions/api/routes.ts';
import { apiThrottle } from '../../lib/constructs/jobs-api.ts';
import { JOB_QUARANTINED_MESSAGE } from '../../functions/observability/alarmed-messages.ts';
import { jobQuarantinedMetricName, metricsNamespace } from '../../lib/constructs/observability.ts';
import { actionsOf, deployContext, functionId, statementsOf, synthesize } from './synth.ts';

// One synthesized template for the whole file: synthesis dominates the run time.
const { template } = synthesize();

type Resource = { Properties: Record<string, any>; DeletionPolicy?: string };
const byType = (type: string) => template.findResources(type) as Record<string, Resource>;

const routes = Object.values(byType('AWS::ApiGatewayV2::Route'));
const services = [...new Set(apiRoutes.map((route) => route.handler)), fallbackHandler, 'sync-worker'];
const [groupId] = Object.keys(byType('AWS::Scheduler::ScheduleGroup'));
const [queueId] = Object.keys(byType('AWS::SQS::Queue'));
const workerId = functionId(template, 'sync-worker');
const workerName = byType('AWS::Lambda::Function')[workerId]!.Properties.FunctionName as string;
const schedulerRoles = Object.entries(byType('AWS::IAM::Role')).filter(([, role]) =>
  JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
);
const [schedulerRoleId, schedulerRole] = schedulerRoles[0]!;
const schedulerRoleArn = { 'Fn::GetAtt': [schedulerRoleId, 'Arn'] };
const tableWrites = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];
const table = () => Object.values(byType('AWS::DynamoDB::Table'))[0]!;
const alarms = Object.values(byType('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties);

/** Services granted `action`, sorted. */
const holders = (action: string) => services.filter((service) => actionsOf(template, service).includes(action)).sort();

describe('HTTP API', () => {
  it('has no API Gateway authorizer: every route reaches its function, which verifies the token', () => {
    // An HTTP API authorizer answers 401 as {"message":"Unauthorized"}, not Graph's error body, and a JWT authorizer
    // accepts one issuer (one tenant); the functions verify instead (functions/http/graph-handler.ts).
    expect(routes.length).toBe(apiRoutes.length + 1);
    expect(Object.keys(byType('AWS::ApiGatewayV2::Authorizer'))).toEqual([]);
    for (const route of routes) expect(route.Properties.AuthorizationType ?? 'NONE', route.Properties.RouteKey).toBe('NONE');
    expect(apiRoutes.filter((route) => route.unauthenticated)).toEqual([
      { method: 'GET', path: '/', handler: 'status-page', unauthenticated: true },
      { method: 'GET', path: '/openapi.json', handler: 'openapi-document', unauthenticated: true },
      { method: 'POST', path: '/notifications', handler: 'change-notifications', unauthenticated: true },
    ]);
  });

  it('gives every function behind a token the tenants and audiences given at deploy, and the open ones none', () => {
    // A function without them could not verify (it fails closed); one with the wrong ones would admit other tenants.
    // The status page shell, the OpenAPI document and the webhook take no token, so they need no policy to misread.
    const variables = (service: string) => byType('AWS::Lambda::Function')[functionId(template, service)]!.Properties.Environment.Variables;
    for (const service of services.filter((name) => name !== 'sync-worker')) {
      const open = service === 'status-page' || service === 'openapi-document' || service === 'change-notifications';
      expect(variables(service).AUTH_TENANTS, service).toBe(open ? undefined : '11111111-2222-3333-4444-555555555555');
      expect(variables(service).AUTH_AUDIENCE, service).toBe(open ? undefined : 'api://graph-sync-jobs,66666666-7777-8888-9999-000000000000');
    }
    expect(variables('sync-worker').AUTH_TENANTS).toBeUndefined();
  });

  it('admits any tenant only with its client app allow-list', () => {
    // `tenants=any` alone would let any Entra tenant in once its admin consents; appIds narrows it to known callers.
    const anyTenant = synthesize({ tenants: 'any', appIds: 'app-1, app-2', audience: 'api://x' }).template;
    anyTenant.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'jobs-list', AUTH_TENANTS: 'any', AUTH_APP_IDS: 'app-1,app-2' }) },
    });
  });

  it('asks for the tenants and audience as stack parameters when the context does not give them', () => {
    // `cdk synth` must work with no context (CI), and the template must then refuse to deploy without them.
    const bare = synthesize({}).template;
    bare.hasParameter('AllowedTenants', { Type: 'String', Default: Match.absent() });
    bare.hasParameter('JwtAudience', { Type: 'CommaDelimitedList', Default: Match.absent() });
    bare.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'jobs-get',
          AUTH_TENANTS: { Ref: 'AllowedTenants' },
          AUTH_AUDIENCE: { 'Fn::Join': [',', { Ref: 'JwtAudience' }] },
        }),
      },
    });
  });

  it('routes each Graph method to the Lambda of its own entry file', () => {
    // The API construct and the local server share routes.ts; a route wired to the wrong handler is a wrong answer.
    const integrations = byType('AWS::ApiGatewayV2::Integration');
    const expected = [
      ...apiRoutes.map((route) => [`${route.method} ${route.path}`, route.handler]),
      ['ANY /{proxy+}', fallbackHandler],
    ];
    for (const [routeKey, handler] of expected) {
      const route = routes.find((candidate) => candidate.Properties.RouteKey === routeKey);
      expect(route, routeKey).toBeDefined();
      const integrationId = (route!.Properties.Target['Fn::Join'][1] as unknown[])[1] as { Ref: string };
      const uri = integrations[integrationId.Ref]!.Properties.IntegrationUri;
      expect(uri['Fn::GetAtt'][0], routeKey).toBe(functionId(template, handler!));
    }
  });

  it('serves what the Kiota SDK sends: PATCH on the schema, and functions() through a parameter segment', () => {
    // No route path depends on API Gateway taking `(` in a route key: `schema/functions()` arrives in the
    // `{functionCall}` segment, and PATCH on the schema reaches the same Lambda (and grants) as PUT.
    const keys = routes.map((route) => route.Properties.RouteKey as string);
    expect(keys.filter((key) => /[()]/.test(key))).toEqual([]);
    const schemaPath = '/v1.0/servicePrincipals/{servicePrincipalId}/synchronization/jobs/{jobId}/schema';
    expect(keys).toEqual(expect.arrayContaining([`PATCH ${schemaPath}`, `PUT ${schemaPath}`, `GET ${schemaPath}/{functionCall}`]));
    expect(actionsOf(template, 'jobs-schema-function-call').filter((action) => tableWrites.includes(action))).toEqual([]);
  });

  it('writes JSON access logs of the default stage to a log group with retention', () => {
    // Access logs are the only record of who called what when a function never ran (429s, gateway errors).
    const logGroups = byType('AWS::Logs::LogGroup');
    const stage = Object.values(byType('AWS::ApiGatewayV2::Stage'))[0]!;
    const settings = stage.Properties.AccessLogSettings;
    expect(logGroups[settings.DestinationArn['Fn::GetAtt'][0]]?.Properties.RetentionInDays).toBeGreaterThan(0);
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format.requestId).toBe('$context.requestId');
    expect(format.integrationError).toBe('$context.integrationErrorMessage');
  });

  it('throttles the default stage', () => {
    // Without a stage limit one runaway client could exhaust the account's Lambda concurrency the worker needs.
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: apiThrottle.rateLimit, ThrottlingBurstLimit: apiThrottle.burstLimit },
    });
  });
});

describe('sync worker', () => {
  it('has a reserved concurrency, and no API function has one', () => {
    // Bursts of ticks or initial syncs then hold at most the worker's share; the API functions answer from what the
    // account has left, which no reservation of theirs would shrink for the others.
    const functions = byType('AWS::Lambda::Function');
    expect(functions[workerId]!.Properties.ReservedConcurrentExecutions).toBe(200);
    const reserved = Object.entries(functions).filter(([id, fn]) => id !== workerId && fn.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toEqual([]);
  });

  it('keeps a throttled tick queued for a while rather than dropping it at once', () => {
    // Throttled asynchronous invokes are retried by Lambda until the maximum event age: long enough for a burst to
    // drain, never longer than Lambda's 6 hours.
    const config = Object.values(byType('AWS::Lambda::EventInvokeConfig')).find((resource) => resource.Properties.FunctionName?.Ref === workerId)!;
    expect(config.Properties.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(15 * 60);
    expect(config.Properties.MaximumEventAgeInSeconds).toBeLessThanOrEqual(6 * 3600);
  });

  it('is never retried by Lambda after a failed asynchronous run', () => {
    // The next tick retries with the saved watermark; Lambda's 2 default retries would triple the load on a target
    // that is already failing.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: workerId },
      MaximumRetryAttempts: 0,
    });
  });

  it('has a time budget below the Lambda maximum', () => {
    // The run must end, save its watermark and leave room for the next tick, rather than be killed at 15 minutes.
    const timeout = byType('AWS::Lambda::Function')[workerId]!.Properties.Timeout as number;
    expect(timeout).toBeGreaterThanOrEqual(60);
    expect(timeout).toBeLessThan(900);
  });

  it("lets a deleted job's purge look for late writes longer than a run may last", () => {
    // A run in flight when its job is deleted may write one more page until it times out; a purge that completed
    // before then would leave those links behind for good.
    const worker = byType('AWS::Lambda::Function')[workerId]!.Properties;
    expect(Number(worker.Environment.Variables.JOB_PURGE_SETTLE_SECONDS)).toBeGreaterThan(worker.Timeout as number);
  });

  it('runs with a small young generation and two malloc arenas, through its exec wrapper; no other function does', () => {
    // Lambda's runtime sizes the young generation from the memory (2 × 32 MB at 512 MB) on node's command line,
    // which NODE_OPTIONS cannot override; the wrapper gives the worker's flags after it (bench/README.md, bench:scale).
    const variables = (service: string) => byType('AWS::Lambda::Function')[functionId(template, service)]!.Properties.Environment.Variables;
    expect(variables('sync-worker')).toMatchObject({
      AWS_LAMBDA_EXEC_WRAPPER: '/var/task/exec-wrapper.sh',
      EXEC_WRAPPER_NODE_FLAGS: '--max-semi-space-size=8',
      MALLOC_ARENA_MAX: '2',
      NODE_OPTIONS: '--enable-source-maps',
    });
    for (const service of services.filter((name) => name !== 'sync-worker')) {
      expect(variables(service).AWS_LAMBDA_EXEC_WRAPPER, service).toBeUndefined();
      expect(variables(service).NODE_OPTIONS, service).toBe('--enable-source-maps');
    }
  });

  it('learns its own ARN, the schedule group, the scheduler role and the dead-letter queue from its environment', () => {
    // The worker repairs stray schedules, and needs exactly the values the API uses to create them.
    const env = byType('AWS::Lambda::Function')[workerId]!.Properties.Environment.Variables;
    expect(JSON.stringify(env.SYNC_FUNCTION_ARN)).toContain(`:function:${workerName}`);
    expect(env.SCHEDULE_GROUP_NAME).toBe(byType('AWS::Scheduler::ScheduleGroup')[groupId!]!.Properties.Name);
    expect(env.SCHEDULER_ROLE_ARN).toEqual(schedulerRoleArn);
    expect(env.SCHEDULER_DLQ_ARN).toEqual({ 'Fn::GetAtt': [queueId, 'Arn'] });
  });
});

describe('scheduler role', () => {
  it('trusts only EventBridge Scheduler, for schedules of this account and schedule group', () => {
    // Without aws:SourceAccount/aws:SourceArn another account's schedules could make Scheduler invoke our worker
    // through this role (the confused-deputy problem).
    expect(schedulerRoles).toHaveLength(1);
    expect(schedulerRole.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: {
            'aws:SourceAccount': { Ref: 'AWS::AccountId' },
            'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] },
          },
        },
      },
    ]);
  });

  it('may invoke the worker and send to the dead-letter queue, and nothing else', () => {
    // Any role that can be passed to a schedule is reachable by whoever may create schedules; keep it tiny.
    const statements = Object.values(byType('AWS::IAM::Policy'))
      .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === schedulerRoleId))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>);
    expect(statements).toHaveLength(2);
    const invoke = statements.find((statement) => statement.Action === 'lambda:InvokeFunction');
    expect(JSON.stringify(invoke?.Resource)).toContain(`:function:${workerName}"`);
    expect(statements).toContainEqual({
      Action: 'sqs:SendMessage',
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
    });
  });
});

describe('scheduler dead-letter queue', () => {
  it('is encrypted and refuses unencrypted transport', () => {
    // Undelivered ticks name tenants and jobs; they must not be readable at rest or on the wire.
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('schedule group', () => {
  it('is deleted with the stack, and its schedules with it', () => {
    // A retained group would keep firing every job's schedule at a worker that no longer exists.
    expect(template.toJSON().Resources[groupId!].DeletionPolicy).toBe('Delete');
  });
});

describe('least privilege', () => {
  it('grants no wildcard action anywhere', () => {
    // `service:*` or `Get*` silently grows with every new AWS API; each action must be one we decided on.
    const actions = Object.values(byType('AWS::IAM::Policy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[] }>).flatMap((s) => [s.Action].flat()),
    );
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action.includes('*'))).toEqual([]);
  });

  it('attaches no managed policy to any role', () => {
    // Managed policies (even AWSLambdaBasicExecutionRole) grant beyond this stack's own resources.
    for (const [id, role] of Object.entries(byType('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
    }
  });

  it('lets iam:PassRole pass only the scheduler role, only to EventBridge Scheduler', () => {
    // PassRole on anything wider would let a compromised function hand an admin role to a service it controls.
    const passRoles = services.flatMap((service) =>
      statementsOf(template, service).filter((statement) => [statement.Action].flat().includes('iam:PassRole')),
    );
    expect(passRoles.length).toBe(holders('iam:PassRole').length);
    for (const statement of passRoles) {
      expect(statement.Action).toBe('iam:PassRole');
      expect(statement.Resource).toEqual(schedulerRoleArn);
      expect(statement.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } });
    }
    expect(holders('iam:PassRole')).toEqual(['jobs-delete', 'jobs-pause', 'jobs-restart', 'jobs-start', 'jobs-update', 'sync-worker']);
  });

  it('confines schedule rights to the stack\'s own schedule group', () => {
    // Schedules of other groups (other stacks, other teams) must stay out of reach.
    const group = Object.values(byType('AWS::Scheduler::ScheduleGroup'))[0]!.Properties.Name as string;
    for (const service of services) {
      for (const statement of statementsOf(template, service)) {
        if (![statement.Action].flat().some((action: string) => action.startsWith('scheduler:'))) continue;
        expect(JSON.stringify(statement.Resource), service).toMatch(new RegExp(`:schedule/${group}/(purge-)?\\*"\\]\\]\\}$`));
      }
    }
    expect(holders('scheduler:DeleteSchedule')).toEqual(['jobs-delete', 'sync-worker']);
    expect(holders('scheduler:CreateSchedule')).toEqual(['jobs-delete', 'jobs-pause', 'jobs-restart', 'jobs-start', 'jobs-update', 'sync-worker']);
  });

  it('lets DELETE create purge schedules only, never change or create a job schedule', async () => {
    // DELETE sets up the background purge of the job's state; a right to create or update `job-*` schedules
    // would let it restart the very job it deletes.
    const creates = statementsOf(template, 'jobs-delete').filter((statement) => [statement.Action].flat().includes('scheduler:CreateSchedule'));
    expect(creates).toHaveLength(1);
    expect(creates[0]!.Action).toBe('scheduler:CreateSchedule');
    expect(JSON.stringify(creates[0]!.Resource)).toMatch(/:schedule\/[^"]*\/purge-\*"\]\]\}$/);
    expect(actionsOf(template, 'jobs-delete')).not.toContain('scheduler:UpdateSchedule');
  });

  it('gives read-only routes no write to the table', () => {
    // A GET that can write is one injection away from corrupting a job.
    for (const service of ['jobs-list', 'jobs-get', 'jobs-schema-get', 'templates-list', 'templates-get']) {
      const actions = actionsOf(template, service);
      expect(actions, service).toContain('dynamodb:GetItem');
      expect(actions.filter((action) => tableWrites.includes(action)), service).toEqual([]);
    }
  });

  it('lets only the secrets route encrypt and only the worker decrypt credentials', () => {
    // Target credentials are write-only through the API; nothing that answers HTTP may ever decrypt them.
    expect(holders('kms:Encrypt')).toEqual(['secrets-put']);
    expect(holders('kms:Decrypt')).toEqual(['sync-worker']);
    expect(actionsOf(template, 'secrets-put')).not.toContain('dynamodb:GetItem');
  });

  it('lets only start, restart, validateCredentials, provisionOnDemand, the webhook and the worker itself invoke the worker', () => {
    // "Sync now", a change notification, a run handing over its remaining work, and the on-demand requests that need
    // the decrypted credentials (which only the worker may read) are the only reasons to invoke; any other right is
    // attack surface.
    const invokers = ['change-notifications', 'jobs-provision-on-demand', 'jobs-restart', 'jobs-start', 'jobs-validate-credentials', 'sync-worker'];
    expect(holders('lambda:InvokeFunction')).toEqual(invokers);
    for (const service of invokers) {
      const invoke = statementsOf(template, service).filter((statement) => statement.Action === 'lambda:InvokeFunction');
      expect(invoke).toHaveLength(1);
      expect(JSON.stringify(invoke[0]!.Resource)).toMatch(new RegExp(`:function:${workerName}"\\]\\]\\}$`));
    }
  });

  it('gives the fallback route, the status page and the OpenAPI document nothing but their own log group', () => {
    // One renders 404/405, the others static documents anyone may fetch; a compromise there must yield nothing.
    for (const service of [fallbackHandler, 'status-page', 'openapi-document']) {
      expect(actionsOf(template, service).sort(), service).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    }
  });

  it('lets only the worker read the source app registration secret, and only that secret', () => {
    // The client secret reads the whole source directory; no API function needs it.
    expect(holders('secretsmanager:GetSecretValue')).toEqual(['sync-worker']);
    const statement = statementsOf(template, 'sync-worker').find((s) => s.Action === 'secretsmanager:GetSecretValue');
    expect(statement?.Resource).toBe(deployContext.sourceClientSecretArn);
  });

  it('grants no secret access at all when no source secret is configured', () => {
    // Without an operator-provided secret there is nothing to read, so there must be no grant to misuse.
    const bare = synthesize({ tenants: deployContext.tenants, audience: 'api://x' }).template;
    expect(JSON.stringify(bare.toJSON())).not.toContain('secretsmanager:');
  });
});

describe('job table', () => {
  it('keeps point-in-time recovery on', () => {
    // A bad deploy or a buggy run can overwrite every watermark; PITR restores the table to the second before.
    expect(table().Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('survives stack deletion and accidental table deletion', () => {
    // The table is the only copy of every tenant's jobs; `cdk destroy` or a console click must not erase it.
    expect(table().DeletionPolicy).toBe('Retain');
    expect(table().Properties.DeletionProtectionEnabled).toBe(true);
  });

  it('expires run-history items by their expiresAt attribute', () => {
    // History grows with every run; without TTL the table (and its cost) grows forever.
    expect(table().Properties.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
  });

  it('is keyed by pk/sk, billed on demand and encrypted with a KMS key', () => {
    // The stores address items by pk/sk; on demand costs nothing at idle; KMS encryption is auditable in CloudTrail.
    expect(table().Properties).toMatchObject({
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
    });
  });
});

describe('secrets key', () => {
  it('rotates and is retained', () => {
    // Losing the key makes every stored credential unreadable; rotation limits the life of one key version.
    const [key] = Object.values(byType('AWS::KMS::Key'));
    expect(key!.Properties.EnableKeyRotation).toBe(true);
    expect(key!.DeletionPolicy).toBe('Retain');
  });
});

describe('observability', () => {
  it('writes JSON logs with a retention for every function', () => {
    // Powertools lines are JSON; a log group without retention is kept (and billed) forever.
    const logGroups = byType('AWS::Logs::LogGroup');
    for (const [id, fn] of Object.entries(byType('AWS::Lambda::Function'))) {
      expect(fn.Properties.LoggingConfig.LogFormat, id).toBe('JSON');
      const logGroup = logGroups[fn.Properties.LoggingConfig.LogGroup.Ref]!;
      expect(logGroup.Properties.RetentionInDays, id).toBeGreaterThan(0);
    }
  });

  it('alarms on API 5xx', () => {
    // API function errors, timeouts and throttles all reach callers as 5xx.
    expect(alarms).toContainEqual(
      expect.objectContaining({ Namespace: 'AWS/ApiGateway', MetricName: '5xx', Threshold: 1 }),
    );
  });

  it('alarms on worker errors', () => {
    // The worker has no caller to see its failures; a failing run is otherwise silent until a user notices.
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: workerId } }],
      }),
    );
  });

  it('alarms on throttles of every function', () => {
    // A throttled tick is delayed or dropped with no error anywhere else.
    const throttled = alarms
      .filter((alarm) => alarm.MetricName === 'Throttles')
      .map((alarm) => alarm.Dimensions[0].Value.Ref as string)
      .sort();
    expect(throttled).toEqual(Object.keys(byType('AWS::Lambda::Function')).sort());
  });

  it('alarms when ticks land in the scheduler dead-letter queue', () => {
    // A message there is a tick that never reached the worker: some job silently stopped syncing.
    expect(alarms).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Threshold: 1,
      }),
    );
  });

  it('alarms on quarantined jobs by counting the worker\'s quarantine log lines', () => {
    // A filter on another log group, another message or another metric than the alarm's watches nothing and never fires.
    const worker = byType('AWS::Lambda::Function')[workerId]!;
    const filters = Object.values(byType('AWS::Logs::MetricFilter')).map((filter) => filter.Properties);
    expect(filters).toEqual([
      {
        LogGroupName: worker.Properties.LoggingConfig.LogGroup,
        FilterPattern: `{ $.message = "${JOB_QUARANTINED_MESSAGE}" }`,
        MetricTransformations: [{ MetricNamespace: metricsNamespace, MetricName: jobQuarantinedMetricName, MetricValue: '1', Unit: 'Count' }],
      },
    ]);
    const quarantine = alarms.filter((alarm) => alarm.MetricName === jobQuarantinedMetricName);
    expect(quarantine).toEqual([expect.objectContaining({ Namespace: 'GraphSyncJobs', Statistic: 'Sum', Period: 3600, Threshold: 1 })]);
    expect(quarantine[0]!.Dimensions).toBeUndefined();
  });
});
