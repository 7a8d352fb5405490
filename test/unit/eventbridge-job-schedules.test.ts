import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  InternalServerException,
  ResourceNotFoundException,
  SchedulerClient,
  SchedulerServiceException,
  ServiceQuotaExceededException,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgeJobSchedules } from '../../functions/adapters/scheduler/eventbridge-job-schedules.ts';
import { SchedulesUnavailableError, type JobScheduleSpec } from '../../functions/ports/job-schedules.ts';
import { workerEventSchema } from '../../functions/schemas/sync-tick.ts';

const scheduler = mockClient(SchedulerClient);
const schedules = new EventBridgeJobSchedules({
  client: new SchedulerClient({ region: 'us-east-1' }),
  groupName: 'sync-jobs',
  targetArn: 'arn:aws:lambda:us-east-1:123456789012:function:sync',
  roleArn: 'arn:aws:iam::123456789012:role/scheduler',
});
const spec: JobScheduleSpec = {
  name: 'job-abc',
  rateMinutes: 15,
  enabled: true,
  tick: { tenantId: 't', servicePrincipalId: 'sp', jobId: 'scim.0123456789abcdef0123456789abcdef.t' },
};
/** What the SDK's modeled exceptions carry: `Message` on the wire, `message` as an Error. */
const failure = (message: string) => ({ message, Message: message, $metadata: {} });

afterEach(() => {
  scheduler.reset();
});

describe('EventBridgeJobSchedules.put', () => {
  it('replaces an existing schedule with the same whole definition when create conflicts', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException(failure('Schedule job-abc already exists.')));
    scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn' });

    await schedules.put(spec);

    const [create] = scheduler.commandCalls(CreateScheduleCommand);
    const [update] = scheduler.commandCalls(UpdateScheduleCommand);
    expect(update?.args[0].input).toEqual(create?.args[0].input);
    expect(update?.args[0].input).toMatchObject({
      Name: 'job-abc',
      GroupName: 'sync-jobs',
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Target: { RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 900 } },
    });
  });

  it('creates again when the schedule vanished between the conflict and the update', async () => {
    scheduler
      .on(CreateScheduleCommand)
      .rejectsOnce(new ConflictException(failure('exists')))
      .resolves({ ScheduleArn: 'arn' });
    scheduler.on(UpdateScheduleCommand).rejects(new ResourceNotFoundException(failure('gone')));

    await schedules.put(spec);

    expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(2);
  });

  it.each([
    ['ThrottlingException', new ThrottlingException(failure('Rate exceeded'))],
    ['ServiceQuotaExceededException', new ServiceQuotaExceededException(failure('quota'))],
    ['InternalServerException', new InternalServerException(failure('oops'))],
    ['an unmodeled 503', new SchedulerServiceException({ name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } })],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' })],
  ])('turns %s into SchedulesUnavailableError', async (_case, error) => {
    scheduler.on(CreateScheduleCommand).rejects(error);

    await expect(schedules.put(spec)).rejects.toBeInstanceOf(SchedulesUnavailableError);
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toHaveLength(0);
  });

  it('treats a conflict on the update itself as transient', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException(failure('exists')));
    scheduler.on(UpdateScheduleCommand).rejects(new ConflictException(failure('inconsistent state')));

    await expect(schedules.put(spec)).rejects.toBeInstanceOf(SchedulesUnavailableError);
  });

  it('reports a ValidationException as a plain error carrying its message', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ValidationException(failure('Invalid Schedule Expression rate(0 minutes).')));

    const error = await schedules.put(spec).catch((caught: unknown) => caught);

    expect(error).not.toBeInstanceOf(SchedulesUnavailableError);
    expect(error).not.toBeInstanceOf(ValidationException);
    expect((error as Error).message).toBe('EventBridge Scheduler rejected schedule job-abc: Invalid Schedule Expression rate(0 minutes).');
  });

  it('lets other errors through unchanged', async () => {
    const denied = new SchedulerServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 403 } });
    scheduler.on(CreateScheduleCommand).rejects(denied);

    await expect(schedules.put(spec)).rejects.toBe(denied);
  });
});

describe('EventBridgeJobSchedules.ensurePurge', () => {
  const event = { action: 'purgeJob' as const, tenantId: 't', servicePrincipalId: 'sp', jobId: spec.tick.jobId, scheduleName: 'purge-abc' };

  it('creates an enabled schedule whose input the worker reads as a purge of that job', async () => {
    scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn' });

    await schedules.ensurePurge({ name: 'purge-abc', rateMinutes: 1, event });

    const input = scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      Name: 'purge-abc',
      GroupName: 'sync-jobs',
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: 'arn:aws:lambda:us-east-1:123456789012:function:sync', RetryPolicy: { MaximumEventAgeInSeconds: 60 } },
    });
    expect(workerEventSchema.parse(JSON.parse(input.Target!.Input!))).toEqual(event);
  });

  it('keeps a purge schedule that exists already, without replacing it', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ConflictException(failure('Schedule purge-abc already exists.')));

    await expect(schedules.ensurePurge({ name: 'purge-abc', rateMinutes: 1, event })).resolves.toBeUndefined();
    expect(scheduler.commandCalls(UpdateScheduleCommand)).toEqual([]);
  });

  it('turns throttling into SchedulesUnavailableError', async () => {
    scheduler.on(CreateScheduleCommand).rejects(new ThrottlingException(failure('Rate exceeded')));

    await expect(schedules.ensurePurge({ name: 'purge-abc', rateMinutes: 1, event })).rejects.toBeInstanceOf(SchedulesUnavailableError);
  });
});

describe('EventBridgeJobSchedules.remove', () => {
  it('counts a schedule that is already gone as removed', async () => {
    scheduler.on(DeleteScheduleCommand).rejects(new ResourceNotFoundException(failure('Schedule job-abc does not exist.')));

    await expect(schedules.remove('job-abc')).resolves.toBeUndefined();
    expect(scheduler.commandCalls(DeleteScheduleCommand)[0]?.args[0].input).toEqual({ Name: 'job-abc', GroupName: 'sync-jobs' });
  });

  it('turns throttling into SchedulesUnavailableError', async () => {
    scheduler.on(DeleteScheduleCommand).rejects(new ThrottlingException(failure('Rate exceeded')));

    await expect(schedules.remove('job-abc')).rejects.toBeInstanceOf(SchedulesUnavailableError);
  });
});

describe('EventBridgeJobSchedules.get', () => {
  it('is null for a schedule that does not exist', async () => {
    scheduler.on(GetScheduleCommand).rejects(new ResourceNotFoundException(failure('missing')));

    await expect(schedules.get('job-abc')).resolves.toBeNull();
  });

  it.each([
    ['rate(1 minute)', 'ENABLED', { rateMinutes: 1, enabled: true }],
    ['rate(2 hours)', 'DISABLED', { rateMinutes: 120, enabled: false }],
    ['rate(1 day)', 'ENABLED', { rateMinutes: 1440, enabled: true }],
  ] as const)('reads %s, %s', async (ScheduleExpression, State, view) => {
    scheduler.on(GetScheduleCommand).resolves({ Name: 'job-abc', ScheduleExpression, State });

    await expect(schedules.get('job-abc')).resolves.toEqual({ name: 'job-abc', ...view });
  });

  it('refuses a schedule whose expression is not a rate', async () => {
    scheduler.on(GetScheduleCommand).resolves({ Name: 'job-abc', ScheduleExpression: 'cron(0 12 * * ? *)', State: 'ENABLED' });

    await expect(schedules.get('job-abc')).rejects.toThrow("has the expression 'cron(0 12 * * ? *)'");
  });
});
