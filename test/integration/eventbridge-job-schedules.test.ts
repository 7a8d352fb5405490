import { GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EventBridgeJobSchedules,
  type EventBridgeJobSchedulesOptions,
} from '../../functions/adapters/scheduler/eventbridge-job-schedules.ts';
import { SchedulesUnavailableError, type JobScheduleSpec } from '../../functions/ports/job-schedules.ts';
import { syncTickSchema } from '../../functions/schemas/sync-tick.ts';
import { startSchedulerEmulator, type SchedulerEmulator } from '../../local/scheduler-emulator/scheduler-emulator.ts';

const START = new Date('2026-03-02T10:00:00.000Z');
const GROUP = 'sync-jobs';
const TARGET_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:sync';
const ROLE_ARN = 'arn:aws:iam::000000000000:role/scheduler-invokes-sync';

const spec = (overrides: Partial<JobScheduleSpec> = {}): JobScheduleSpec => ({
  name: 'job-0123456789abcdef',
  rateMinutes: 5,
  enabled: true,
  tick: { tenantId: 'tenant-1', servicePrincipalId: 'sp-1', jobId: 'scim.0123456789abcdef0123456789abcdef.tenant-1' },
  ...overrides,
});

describe('EventBridgeJobSchedules against the Scheduler emulator', () => {
  let now: Date;
  let inputs: string[];
  let emulator: SchedulerEmulator;
  let client: SchedulerClient;

  const start = (requestsPerSecond?: number) =>
    startSchedulerEmulator({
      clock: { now: () => now },
      groups: [GROUP],
      invoke: async (_targetArn, input) => {
        inputs.push(input);
      },
      requestsPerSecond,
    });

  const adapter = (options: Partial<EventBridgeJobSchedulesOptions> = {}) =>
    new EventBridgeJobSchedules({ client, groupName: GROUP, targetArn: TARGET_ARN, roleArn: ROLE_ARN, ...options });

  const stored = (name = spec().name) => client.send(new GetScheduleCommand({ Name: name, GroupName: GROUP }));

  beforeEach(async () => {
    now = START;
    inputs = [];
    emulator = await start();
    client = new SchedulerClient({
      endpoint: emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    client.destroy();
    await emulator.close();
  });

  it('put creates the schedule with the whole definition', async () => {
    await adapter().put(spec());

    await expect(adapter().get(spec().name)).resolves.toEqual({ name: spec().name, rateMinutes: 5, enabled: true });
    const schedule = await stored();
    expect(schedule).toMatchObject({
      GroupName: GROUP,
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: TARGET_ARN, RoleArn: ROLE_ARN, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 } },
    });
    expect(JSON.parse(schedule.Target?.Input ?? '')).toEqual({
      ...spec().tick,
      trigger: 'schedule',
      scheduledTime: '<aws.scheduler.scheduled-time>',
    });
  });

  it('put again replaces the schedule in place: pause, resume and a new rate', async () => {
    await adapter().put(spec());
    const created = await stored();

    now = new Date(START.getTime() + 60_000);
    await adapter().put(spec({ enabled: false }));
    await expect(adapter().get(spec().name)).resolves.toEqual({ name: spec().name, rateMinutes: 5, enabled: false });
    expect((await stored()).State).toBe('DISABLED');

    await adapter().put(spec({ enabled: true, rateMinutes: 1 }));
    const updated = await stored();
    expect(updated).toMatchObject({ State: 'ENABLED', ScheduleExpression: 'rate(1 minute)' });
    expect(updated.Arn).toBe(created.Arn);
    expect(updated.CreationDate).toEqual(created.CreationDate);
    expect(updated.LastModificationDate).toEqual(now);
  });

  it.each([
    [1, 'rate(1 minute)'],
    [40, 'rate(40 minutes)'],
    [1440, 'rate(1440 minutes)'],
  ])('renders %i minutes as %s and reads it back', async (rateMinutes, expression) => {
    await adapter().put(spec({ rateMinutes }));
    expect((await stored()).ScheduleExpression).toBe(expression);
    await expect(adapter().get(spec().name)).resolves.toMatchObject({ rateMinutes });
  });

  it('passes the flexible window, retry policy and dead-letter queue it is configured with', async () => {
    const deadLetterArn = 'arn:aws:sqs:us-east-1:000000000000:sync-ticks-dlq';
    await adapter({ flexibleWindowMinutes: 10, maximumRetryAttempts: 0, maximumEventAgeSeconds: 120, deadLetterArn }).put(spec());
    expect(await stored()).toMatchObject({
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 10 },
      Target: { RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 120 }, DeadLetterConfig: { Arn: deadLetterArn } },
    });
  });

  it('remove deletes the schedule, and removing it again is fine', async () => {
    await adapter().put(spec());
    await adapter().remove(spec().name);
    await expect(adapter().get(spec().name)).resolves.toBeNull();
    await expect(adapter().remove(spec().name)).resolves.toBeUndefined();
  });

  it('get of a schedule that does not exist is null', async () => {
    await expect(adapter().get('job-missing')).resolves.toBeNull();
  });

  it('a fired tick is a valid sync tick carrying its scheduled time', async () => {
    await adapter().put(spec());
    now = new Date(START.getTime() + 5 * 60_000);
    expect(await emulator.runDue()).toBe(1);
    expect(syncTickSchema.parse(JSON.parse(inputs[0] ?? ''))).toEqual({
      ...spec().tick,
      trigger: 'schedule',
      scheduledTime: '2026-03-02T10:05:00Z',
    });
  });

  it('a paused job does not tick', async () => {
    await adapter().put(spec({ enabled: false }));
    now = new Date(START.getTime() + 30 * 60_000);
    expect(await emulator.runDue()).toBe(0);
  });

  it('throttling becomes SchedulesUnavailableError', async () => {
    client.destroy();
    await emulator.close();
    emulator = await start(1);
    client = new SchedulerClient({
      endpoint: emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    await adapter().put(spec());
    await expect(adapter().get(spec().name)).rejects.toBeInstanceOf(SchedulesUnavailableError);
  });

  it('an unreachable endpoint becomes SchedulesUnavailableError', async () => {
    await emulator.close();
    await expect(adapter().put(spec())).rejects.toBeInstanceOf(SchedulesUnavailableError);
    emulator = await start();
  });

  it('a definition Scheduler rejects is a plain error with its message', async () => {
    const error = await adapter({ roleArn: 'not-a-role' })
      .put(spec())
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SchedulesUnavailableError);
    expect((error as Error).message).toContain("at 'target.roleArn' failed to satisfy constraint");
  });
});
