import { ArnFormat, Aws, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { JobData } from './job-data.ts';
import type { SecretsKey } from './secrets-key.ts';
import { ServiceFunction, type FunctionEnvironment, type ProcessSettings } from './service-function.ts';

/** Powertools service name of the sync worker (the `service` dimension of its metrics). */
export const syncWorkerServiceName = 'sync-worker';

/** How long one worker invocation may run; the worker saves its watermark and stops before this. */
export const syncWorkerTimeout = Duration.minutes(5);

/**
 * How long a deleted job's purge keeps looking for late writes: a run in flight at the deletion can write one more
 * page until its invocation times out, so a minute more than that timeout.
 */
export const jobPurgeSettle = syncWorkerTimeout.plus(Duration.minutes(1));

/**
 * How the worker's Node.js process runs; bench/scale.ts starts its worker with these, as the synthesized stack has
 * them (bench/README.md, `bench:scale`, has the figures).
 */
export const syncWorkerProcess = {
  // Lambda's runtime gives V8 semi-spaces of a twentieth of the memory (25 MB at 512 MB), which the worker's
  // allocation rate fills: 64 MB of young generation committed for a live heap of about 35 MB. 8 MB ones keep 16 MB,
  // for no CPU that the benchmark can tell.
  nodeFlags: ['--max-semi-space-size=8'],
  // glibc gives each thread that allocates (the main one, libuv's pool) an arena of its own, up to 8 per core, and
  // keeps what was freed in each.
  environment: { MALLOC_ARENA_MAX: '2' },
} satisfies ProcessSettings;

/** Props of {@link SyncWorker}. */
export interface SyncWorkerProps {
  /** What every function reads besides the names this construct adds (table, key, source app registration). */
  environment: FunctionEnvironment;
  data: JobData;
  secrets: SecretsKey;
  /** The operator's Secrets Manager secret with the source app registration's client secret, if any. */
  sourceClientSecretArn?: string;
  /**
   * Reserved concurrency of the worker (0: none). Ticks beyond it are throttled and wait in Lambda's asynchronous
   * queue (retried for up to the maximum event age), while the API functions keep the rest of the account's pool.
   */
  reservedConcurrency: number;
}

/**
 * The sync worker and what drives it: the Lambda (functions/workers/sync-job.ts) that runs one bounded slice of a
 * job per invocation, the schedule group that holds one schedule per job (created at run time by the API), the role
 * EventBridge Scheduler assumes to invoke the worker, and the queue that keeps ticks Scheduler could not deliver.
 */
export class SyncWorker extends Construct {
  readonly worker: ServiceFunction;
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedulerRole: iam.Role;
  readonly deadLetterQueue: sqs.Queue;
  /** ARN of the worker function: what schedules target and what "sync now" invokes. */
  readonly workerArn: string;
  /** The full deployed environment (functions/config/env.ts): what the worker gets and the API functions need. */
  readonly environment: FunctionEnvironment;

  constructor(scope: Construct, id: string, props: SyncWorkerProps) {
    super(scope, id);
    const stack = Stack.of(this);

    // Deleting the stack deletes the group and with it every job's schedule; retained schedules would keep firing
    // at a worker that no longer exists.
    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'Schedules', { removalPolicy: RemovalPolicy.DESTROY });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue of the EventBridge Scheduler targets (Target.DeadLetterConfig); ' +
        'it is the end of the line and has no further dead-letter queue of its own.',
    });

    // The worker's schedules name it by ARN, and so does the worker when it repairs a stray schedule; a fixed name
    // gives that ARN without the function referencing itself.
    const functionName = Names.uniqueResourceName(this, { maxLength: 64, separator: '-' });
    this.workerArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: functionName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Assumed by EventBridge Scheduler to invoke the sync worker for the schedules of this group',
      // Confused-deputy guard: only schedules of this account's group may assume the role.
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': Aws.ACCOUNT_ID,
            'aws:SourceArn': this.scheduleGroup.scheduleGroupArn,
          },
        },
      }),
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.workerArn] }),
    );
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );

    this.environment = {
      ...props.environment,
      SCHEDULE_GROUP_NAME: this.scheduleGroup.scheduleGroupName,
      SCHEDULER_ROLE_ARN: this.schedulerRole.roleArn,
      SYNC_FUNCTION_ARN: this.workerArn,
      SCHEDULER_DLQ_ARN: this.deadLetterQueue.queueArn,
      JOB_PURGE_SETTLE_SECONDS: String(jobPurgeSettle.toSeconds()),
    };

    this.worker = new ServiceFunction(this, 'Worker', {
      entry: 'functions/workers/sync-job.ts',
      serviceName: syncWorkerServiceName,
      description: 'Runs one bounded slice of a Graph synchronization job (directory page to SCIM target)',
      functionName,
      environment: this.environment,
      // The run's time budget: the worker saves its watermark and stops before this, and the next tick resumes.
      timeout: syncWorkerTimeout,
      memorySize: 512,
      process: syncWorkerProcess,
      ...(props.reservedConcurrency > 0 ? { reservedConcurrentExecutions: props.reservedConcurrency } : {}),
    });
    // A failed run is not retried by Lambda: the job's next tick retries it with the saved watermark, and a retry
    // on top of that would double the load on a target that is already failing. A throttled tick (reserved
    // concurrency reached) is not a failure: Lambda keeps it queued and retries it until the maximum event age, so
    // a burst is absorbed; past that hour it is dropped, which costs nothing a later tick does not redo.
    this.worker.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    props.data.grantReadWrite(this.worker.role);
    props.secrets.grantDecrypt(this.worker.role);
    // The worker recreates, corrects or removes a job's schedule when it finds one that disagrees with the job.
    this.grantScheduleWrite(this.worker);
    this.grantScheduleDelete(this.worker);
    // A run that ends its time budget with work left hands the rest to a fresh invocation of itself.
    this.grantStart(this.worker);
    if (props.sourceClientSecretArn !== undefined) {
      this.worker.role.addToPolicy(
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [props.sourceClientSecretArn],
        }),
      );
    }
  }

  /**
   * Create, update and read schedules of this group, and pass the scheduler role to them (the pass is limited to
   * EventBridge Scheduler).
   */
  grantScheduleWrite(target: ServiceFunction): void {
    this.grantSchedules(target, ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:GetSchedule']);
    this.grantPassSchedulerRole(target);
  }

  private readonly passRoleGrants = new Set<ServiceFunction>();

  /** Pass the scheduler role, to EventBridge Scheduler only (once per function). */
  private grantPassSchedulerRole(target: ServiceFunction): void {
    if (this.passRoleGrants.has(target)) return;
    this.passRoleGrants.add(target);
    target.role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }

  /**
   * Create the purge schedule of a job being deleted (names `purge-*` only), and pass the scheduler role to it. The
   * worker removes it once the purge is done.
   */
  grantPurgeScheduleCreate(target: ServiceFunction): void {
    const purgeSchedules = Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.scheduleGroupName}/purge-*`,
    });
    target.role.addToPolicy(new iam.PolicyStatement({ actions: ['scheduler:CreateSchedule'], resources: [purgeSchedules] }));
    this.grantPassSchedulerRole(target);
    Validations.of(target.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${this.scheduleGroup.scheduleGroupName}/purge-*]`,
      reason:
        'A purge schedule is created at run time for each deleted job, named after the job, so no ARN is known at ' +
        "deploy time; the wildcard is confined to the purge schedules of this stack's own schedule group.",
    });
  }

  /** Delete and read schedules of this group. */
  grantScheduleDelete(target: ServiceFunction): void {
    this.grantSchedules(target, ['scheduler:DeleteSchedule', 'scheduler:GetSchedule']);
  }

  /** Invoke the worker (asynchronously, for "sync now"); nothing else. */
  grantStart(target: ServiceFunction): void {
    target.role.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.workerArn] }),
    );
  }

  private readonly acknowledgedScheduleGrants = new Set<ServiceFunction>();

  private grantSchedules(target: ServiceFunction, actions: string[]): void {
    const inGroup = Stack.of(this).formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
    });
    target.role.addToPolicy(new iam.PolicyStatement({ actions, resources: [inGroup] }));
    if (this.acknowledgedScheduleGrants.has(target)) return;
    this.acknowledgedScheduleGrants.add(target);
    Validations.of(target.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/${this.scheduleGroup.scheduleGroupName}/*]`,
      reason:
        'Schedules are created at run time, one per job, with names derived from job ids, so no schedule ARN is ' +
        'known at deploy time; the wildcard is confined to the schedules of this stack\'s own schedule group.',
    });
  }
}
