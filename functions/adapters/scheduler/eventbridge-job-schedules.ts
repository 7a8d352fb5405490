import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  InternalServerException,
  ResourceNotFoundException,
  SchedulerServiceException,
  ServiceQuotaExceededException,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
  type CreateScheduleCommandInput,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import {
  SchedulesUnavailableError,
  type JobScheduleSpec,
  type JobSchedules,
  type ScheduleView,
} from '../../ports/job-schedules.ts';
import type { PurgeScheduleSpec, PurgeSchedules } from '../../ports/purge-schedules.ts';
import type { SyncTick } from '../../schemas/sync-tick.ts';
import { formatRateExpression, parseRateExpression } from './rate-expression.ts';

/** Replaced by EventBridge Scheduler with the tick's scheduled time, so a tick keeps its identity across retries. */
export const SCHEDULED_TIME_PLACEHOLDER = '<aws.scheduler.scheduled-time>';

/** Where the schedules live and what they invoke; the names come from the deployed environment. */
export interface EventBridgeJobSchedulesOptions {
  client: SchedulerClient;
  groupName: string;
  /** The sync worker's function ARN. */
  targetArn: string;
  /** The role EventBridge Scheduler assumes to invoke the target. */
  roleArn: string;
  /** SQS queue that receives ticks whose delivery failed after all retries. */
  deadLetterArn?: string;
  /** Spreads ticks over this many minutes after their scheduled time; 0 or absent fires on time. */
  flexibleWindowMinutes?: number;
  /** Delivery retries of one tick (Scheduler allows 0–185); few, because the next tick catches up anyway. */
  maximumRetryAttempts?: number;
  /** How long a tick may keep being retried (60–86400); defaults to the schedule's own interval. */
  maximumEventAgeSeconds?: number;
}

const DEFAULT_RETRY_ATTEMPTS = 2;

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * One EventBridge Scheduler schedule per job, and one per deleted job whose purge is under way, in the service's
 * own schedule group, invoking the sync worker.
 */
export class EventBridgeJobSchedules implements JobSchedules, PurgeSchedules {
  constructor(private readonly options: EventBridgeJobSchedulesOptions) {}

  async put(spec: JobScheduleSpec): Promise<void> {
    const definition = this.definitionOf(spec);
    if ((await this.create(definition)) === 'created') return;
    try {
      // UpdateSchedule replaces the whole schedule, so sending the full definition leaves no stale field behind.
      await this.options.client.send(new UpdateScheduleCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw translate(error, spec.name);
      // Removed between our create and update: the schedule we want still has to exist.
      await this.create(definition);
    }
  }

  async ensurePurge(spec: PurgeScheduleSpec): Promise<void> {
    const { groupName, targetArn, roleArn, deadLetterArn, maximumRetryAttempts } = this.options;
    // 'exists' is fine: the name derives from the job, and so does the event it carries.
    await this.create({
      Name: spec.name,
      GroupName: groupName,
      ScheduleExpression: formatRateExpression(spec.rateMinutes),
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Description: `Purges the state of deleted job ${spec.event.jobId.slice(0, 400)}; removed by the worker when done`,
      Target: {
        Arn: targetArn,
        RoleArn: roleArn,
        Input: JSON.stringify(spec.event),
        RetryPolicy: {
          MaximumRetryAttempts: maximumRetryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
          // The next tick comes a period later and carries the same event.
          MaximumEventAgeInSeconds: clamp(spec.rateMinutes * 60, 60, 86_400),
        },
        ...(deadLetterArn ? { DeadLetterConfig: { Arn: deadLetterArn } } : {}),
      },
    });
  }

  async remove(name: string): Promise<void> {
    try {
      await this.options.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.options.groupName }));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return;
      throw translate(error, name);
    }
  }

  async get(name: string): Promise<ScheduleView | null> {
    let schedule;
    try {
      schedule = await this.options.client.send(new GetScheduleCommand({ Name: name, GroupName: this.options.groupName }));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return null;
      throw translate(error, name);
    }
    const rateMinutes = parseRateExpression(schedule.ScheduleExpression ?? '');
    if (rateMinutes === null) {
      throw new Error(`Schedule ${name} has the expression '${schedule.ScheduleExpression}', not a rate this service sets`);
    }
    return { name, rateMinutes, enabled: schedule.State === 'ENABLED' };
  }

  private definitionOf(spec: JobScheduleSpec): CreateScheduleCommandInput {
    const { groupName, targetArn, roleArn, deadLetterArn, flexibleWindowMinutes, maximumRetryAttempts } = this.options;
    const tick: SyncTick = { ...spec.tick, trigger: 'schedule', scheduledTime: SCHEDULED_TIME_PLACEHOLDER };
    return {
      Name: spec.name,
      GroupName: groupName,
      ScheduleExpression: formatRateExpression(spec.rateMinutes),
      State: spec.enabled ? 'ENABLED' : 'DISABLED',
      FlexibleTimeWindow: flexibleWindowMinutes
        ? { Mode: 'FLEXIBLE', MaximumWindowInMinutes: flexibleWindowMinutes }
        : { Mode: 'OFF' },
      Target: {
        Arn: targetArn,
        RoleArn: roleArn,
        Input: JSON.stringify(tick),
        RetryPolicy: {
          MaximumRetryAttempts: maximumRetryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
          // A tick older than one interval is superseded by the next one, so retrying it longer only doubles a run.
          MaximumEventAgeInSeconds: this.options.maximumEventAgeSeconds ?? clamp(spec.rateMinutes * 60, 60, 86_400),
        },
        ...(deadLetterArn ? { DeadLetterConfig: { Arn: deadLetterArn } } : {}),
      },
    };
  }

  private async create(definition: CreateScheduleCommandInput): Promise<'created' | 'exists'> {
    try {
      await this.options.client.send(new CreateScheduleCommand(definition));
      return 'created';
    } catch (error) {
      if (error instanceof ConflictException) return 'exists';
      throw translate(error, definition.Name ?? '');
    }
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Transient conditions become SchedulesUnavailableError (503 + Retry-After); a rejected definition is a bug. */
function translate(error: unknown, name: string): Error {
  if (isTransient(error)) {
    const reason = error instanceof Error ? error.message : String(error);
    return new SchedulesUnavailableError(`EventBridge Scheduler is unavailable for schedule ${name}: ${reason}`);
  }
  if (error instanceof ValidationException) {
    return new Error(`EventBridge Scheduler rejected schedule ${name}: ${error.message}`);
  }
  return error instanceof Error ? error : new Error(String(error));
}

function isTransient(error: unknown): boolean {
  if (
    error instanceof ThrottlingException ||
    error instanceof ServiceQuotaExceededException ||
    error instanceof InternalServerException ||
    // On update or delete: another change of the same schedule is in flight; a retry settles it.
    error instanceof ConflictException
  ) {
    return true;
  }
  if (error instanceof SchedulerServiceException) return (error.$metadata.httpStatusCode ?? 0) >= 500;
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return error.name === 'TimeoutError' || (code !== undefined && NETWORK_ERROR_CODES.has(code));
}
