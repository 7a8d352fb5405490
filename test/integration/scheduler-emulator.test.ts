import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSchedulerEmulator, type SchedulerEmulator } from '../../local/scheduler-emulator/scheduler-emulator.ts';

const START = new Date('2026-03-02T10:00:00.000Z');
const ROLE_ARN = 'arn:aws:iam::000000000000:role/scheduler-invokes-sync';
const TARGET_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:sync';
const minutes = (count: number) => new Date(START.getTime() + count * 60_000);

interface Invocation {
  targetArn: string;
  input: string;
}

function clientFor(emulator: SchedulerEmulator): SchedulerClient {
  return new SchedulerClient({
    endpoint: emulator.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}

function schedule(overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: 'job-a',
    ScheduleExpression: 'rate(5 minutes)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: TARGET_ARN,
      RoleArn: ROLE_ARN,
      Input: '{"arn":"<aws.scheduler.schedule-arn>","at":"<aws.scheduler.scheduled-time>","id":"<aws.scheduler.execution-id>","try":<aws.scheduler.attempt-number>}',
    },
    ...overrides,
  };
}

describe('Scheduler emulator through SchedulerClient', () => {
  let now: Date;
  let invocations: Invocation[];
  let failInvocations: boolean;
  let emulator: SchedulerEmulator;
  let client: SchedulerClient;
  let dataDir: string;

  const start = (extra: { dataFile?: string; requestsPerSecond?: number } = {}) =>
    startSchedulerEmulator({
      clock: { now: () => now },
      groups: ['sync-jobs'],
      invoke: async (targetArn, input) => {
        if (failInvocations) throw new Error('target unavailable');
        invocations.push({ targetArn, input });
      },
      ...extra,
    });

  beforeEach(async () => {
    now = START;
    invocations = [];
    failInvocations = false;
    dataDir = mkdtempSync(join(tmpdir(), 'scheduler-emulator-'));
    emulator = await start();
    client = clientFor(emulator);
  });

  afterEach(async () => {
    client.destroy();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  describe('flexible time window', () => {
    it('fires each scheduled time once, somewhere in its window, and spreads schedules created together', async () => {
      // AWS: with Mode FLEXIBLE the target is invoked within MaximumWindowInMinutes after the scheduled time.
      const count = 40;
      for (let index = 0; index < count; index += 1) {
        await client.send(new CreateScheduleCommand(schedule({ Name: `job-${index}`, FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 } })));
      }
      const fired: { at: number; scheduled: number; arn: string }[] = [];
      for (let second = 0; second <= 31 * 60; second += 15) {
        now = new Date(START.getTime() + second * 1000);
        await emulator.runDue();
        for (const invocation of invocations.splice(0)) {
          const { at, arn } = JSON.parse(invocation.input) as { at: string; arn: string };
          fired.push({ at: now.getTime(), scheduled: Date.parse(at), arn });
        }
      }
      // Scheduled at 5, 10, ..., 25 minutes (30's window is still open at 31): five times each, each in its window.
      for (let index = 0; index < count; index += 1) {
        const mine = fired.filter((tick) => tick.arn.endsWith(`/job-${index}`));
        expect(mine.map((tick) => (tick.scheduled - START.getTime()) / 60_000).slice(0, 5)).toEqual([5, 10, 15, 20, 25]);
        for (const tick of mine) {
          expect(tick.at).toBeGreaterThanOrEqual(tick.scheduled);
          expect(tick.at).toBeLessThan(tick.scheduled + 5 * 60_000 + 15_000);
        }
      }
      // Created in the same instant, they do not fire in the same instant.
      const firstTicks = new Set(fired.filter((tick) => tick.scheduled === minutes(5).getTime()).map((tick) => tick.at));
      expect(firstTicks.size).toBeGreaterThan(8);
    });
  });

  describe('schedule lifecycle', () => {
    it('creates, reads, replaces, lists and deletes a schedule', async () => {
      const created = await client.send(new CreateScheduleCommand(schedule({ GroupName: 'sync-jobs' })));
      expect(created.ScheduleArn).toBe('arn:aws:scheduler:us-east-1:000000000000:schedule/sync-jobs/job-a');

      const read = await client.send(new GetScheduleCommand({ Name: 'job-a', GroupName: 'sync-jobs' }));
      expect(read).toMatchObject({
        Arn: created.ScheduleArn,
        Name: 'job-a',
        GroupName: 'sync-jobs',
        ScheduleExpression: 'rate(5 minutes)',
        State: 'ENABLED',
        ActionAfterCompletion: 'NONE',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: TARGET_ARN,
          RoleArn: ROLE_ARN,
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        },
      });
      expect(read.CreationDate).toEqual(START);

      now = minutes(1);
      await client.send(
        new UpdateScheduleCommand(
          schedule({
            GroupName: 'sync-jobs',
            ScheduleExpression: 'rate(1 hour)',
            State: 'DISABLED',
            FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
          }),
        ),
      );
      const replaced = await client.send(new GetScheduleCommand({ Name: 'job-a', GroupName: 'sync-jobs' }));
      expect(replaced).toMatchObject({
        ScheduleExpression: 'rate(1 hour)',
        State: 'DISABLED',
        FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      });
      expect(replaced.CreationDate).toEqual(START);
      expect(replaced.LastModificationDate).toEqual(minutes(1));

      const listed = await client.send(new ListSchedulesCommand({ GroupName: 'sync-jobs' }));
      expect(listed.Schedules).toEqual([
        expect.objectContaining({ Name: 'job-a', GroupName: 'sync-jobs', State: 'DISABLED', Target: { Arn: TARGET_ARN } }),
      ]);

      await client.send(new DeleteScheduleCommand({ Name: 'job-a', GroupName: 'sync-jobs' }));
      await expect(client.send(new GetScheduleCommand({ Name: 'job-a', GroupName: 'sync-jobs' }))).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );
    });

    it('update replaces the whole definition: members left out fall back to their defaults', async () => {
      await client.send(new CreateScheduleCommand(schedule({ Description: 'nightly', State: 'DISABLED' })));
      await client.send(new UpdateScheduleCommand(schedule()));
      const read = await client.send(new GetScheduleCommand({ Name: 'job-a' }));
      expect(read.Description).toBeUndefined();
      expect(read.State).toBe('ENABLED');
    });

    it('lists by prefix and state, a page at a time', async () => {
      for (const name of ['job-1', 'job-2', 'job-3', 'other']) {
        await client.send(new CreateScheduleCommand(schedule({ Name: name, State: name === 'job-2' ? 'DISABLED' : 'ENABLED' })));
      }
      const first = await client.send(new ListSchedulesCommand({ NamePrefix: 'job-', MaxResults: 2 }));
      expect(first.Schedules?.map((entry) => entry.Name)).toEqual(['job-1', 'job-2']);
      const second = await client.send(
        new ListSchedulesCommand({ NamePrefix: 'job-', MaxResults: 2, NextToken: first.NextToken }),
      );
      expect(second.Schedules?.map((entry) => entry.Name)).toEqual(['job-3']);
      expect(second.NextToken).toBeUndefined();
      const disabled = await client.send(new ListSchedulesCommand({ State: 'DISABLED' }));
      expect(disabled.Schedules?.map((entry) => entry.Name)).toEqual(['job-2']);
    });
  });

  describe('errors as AWS answers them', () => {
    it.each([
      ['a name with a space', schedule({ Name: 'bad name' }), "at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+"],
      ['a name longer than 64', schedule({ Name: 'n'.repeat(65) }), "at 'name' failed to satisfy constraint: Member must have length less than or equal to 64"],
      ['a plural unit for 1', schedule({ ScheduleExpression: 'rate(1 minutes)' }), 'Invalid Schedule Expression rate(1 minutes).'],
      ['a singular unit for 5', schedule({ ScheduleExpression: 'rate(5 minute)' }), 'Invalid Schedule Expression rate(5 minute).'],
      ['a zero rate', schedule({ ScheduleExpression: 'rate(0 minutes)' }), 'Invalid Schedule Expression rate(0 minutes).'],
      ['a unit Scheduler lacks', schedule({ ScheduleExpression: 'rate(5 seconds)' }), 'Invalid Schedule Expression'],
      ['cron with five fields', schedule({ ScheduleExpression: 'cron(0 12 * * ?)' }), 'Invalid Schedule Expression'],
      ['cron with both day fields', schedule({ ScheduleExpression: 'cron(0 12 * * * *)' }), 'Invalid Schedule Expression'],
      ['an impossible at()', schedule({ ScheduleExpression: 'at(2026-02-30T10:00:00)' }), 'Invalid Schedule Expression'],
      ['an unknown time zone', schedule({ ScheduleExpressionTimezone: 'Mars/Olympus' }), 'Invalid ScheduleExpressionTimezone'],
      ['no FlexibleTimeWindow', schedule({ FlexibleTimeWindow: undefined }), "Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null"],
      ['FLEXIBLE without a window', schedule({ FlexibleTimeWindow: { Mode: 'FLEXIBLE' } }), 'MaximumWindowInMinutes is required when Mode is FLEXIBLE'],
      ['a window over 1440', schedule({ FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 1441 } }), "at 'flexibleTimeWindow.maximumWindowInMinutes'"],
      ['no target role', schedule({ Target: { Arn: TARGET_ARN, RoleArn: undefined } }), "Value null at 'target.roleArn' failed to satisfy constraint: Member must not be null"],
      ['a role that is not an IAM role', schedule({ Target: { Arn: TARGET_ARN, RoleArn: 'role' } }), "at 'target.roleArn'"],
      ['too many retries', schedule({ Target: { Arn: TARGET_ARN, RoleArn: ROLE_ARN, RetryPolicy: { MaximumRetryAttempts: 186 } } }), 'Member must have value less than or equal to 185'],
      ['too short an event age', schedule({ Target: { Arn: TARGET_ARN, RoleArn: ROLE_ARN, RetryPolicy: { MaximumEventAgeInSeconds: 59 } } }), 'Member must have value greater than or equal to 60'],
      ['an unknown state', schedule({ State: 'PAUSED' as 'ENABLED' }), 'Member must satisfy enum value set: [ENABLED, DISABLED]'],
    ])('rejects %s with ValidationException', async (_case, input, message) => {
      const error = await client.send(new CreateScheduleCommand(input)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ValidationException);
      expect((error as ValidationException).message).toContain(message);
      await expect(client.send(new ListSchedulesCommand({}))).resolves.toMatchObject({ Schedules: [] });
    });

    it.each(['rate(1 minute)', 'rate(2 hours)', 'rate(1 day)', 'at(2026-03-02T12:00:00)', 'cron(0/15 8-17 ? * MON-FRI *)', 'cron(0 12 L * ? 2026)'])(
      'accepts %s',
      async (expression) => {
        await client.send(new CreateScheduleCommand(schedule({ ScheduleExpression: expression })));
        const read = await client.send(new GetScheduleCommand({ Name: 'job-a' }));
        expect(read.ScheduleExpression).toBe(expression);
      },
    );

    it('answers ConflictException when the name exists, unless it is a replay of the same ClientToken', async () => {
      await client.send(new CreateScheduleCommand(schedule({ ClientToken: 'token-1' })));
      await expect(client.send(new CreateScheduleCommand(schedule({ ClientToken: 'token-1' })))).resolves.toMatchObject({
        ScheduleArn: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/job-a',
      });
      await expect(client.send(new CreateScheduleCommand(schedule({ ClientToken: 'token-2' })))).rejects.toBeInstanceOf(
        ConflictException,
      );
      await expect(client.send(new CreateScheduleCommand(schedule()))).rejects.toBeInstanceOf(ConflictException);
    });

    it('answers ResourceNotFoundException for missing schedules and groups', async () => {
      await expect(client.send(new UpdateScheduleCommand(schedule()))).rejects.toBeInstanceOf(ResourceNotFoundException);
      await expect(client.send(new DeleteScheduleCommand({ Name: 'job-a' }))).rejects.toBeInstanceOf(ResourceNotFoundException);
      const error = await client
        .send(new CreateScheduleCommand(schedule({ GroupName: 'no-such-group' })))
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect((error as Error).message).toBe('Schedule group no-such-group does not exist.');
      await expect(client.send(new GetScheduleCommand({ Name: 'job-a', GroupName: 'no-such-group' }))).rejects.toBeInstanceOf(
        ResourceNotFoundException,
      );
    });

    it('speaks the wire format: status, x-amzn-errortype and a Message body', async () => {
      const response = await fetch(`${emulator.url}/schedules/missing?groupName=default`);
      expect(response.status).toBe(404);
      expect(response.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
      expect(await response.json()).toEqual({ Message: 'Schedule missing does not exist.' });
    });

    it('throttles beyond requestsPerSecond until the clock refills the budget', async () => {
      client.destroy();
      await emulator.close();
      emulator = await start({ requestsPerSecond: 2 });
      client = clientFor(emulator);
      await client.send(new ListSchedulesCommand({}));
      await client.send(new ListSchedulesCommand({}));
      await expect(client.send(new ListSchedulesCommand({}))).rejects.toBeInstanceOf(ThrottlingException);
      now = new Date(START.getTime() + 1000);
      await expect(client.send(new ListSchedulesCommand({}))).resolves.toMatchObject({ Schedules: [] });
    });
  });

  describe('persistence', () => {
    it('keeps schedules and what has fired across a restart', async () => {
      const dataFile = join(dataDir, 'scheduler.json');
      client.destroy();
      await emulator.close();
      emulator = await start({ dataFile });
      client = clientFor(emulator);
      const { ScheduleArn } = await client.send(new CreateScheduleCommand(schedule()));
      now = minutes(5);
      expect(await emulator.runDue()).toBe(1);

      client.destroy();
      await emulator.close();
      emulator = await start({ dataFile });
      client = clientFor(emulator);

      const read = await client.send(new GetScheduleCommand({ Name: 'job-a' }));
      expect(read.Arn).toBe(ScheduleArn);
      expect(read.CreationDate).toEqual(START);
      expect(await emulator.runDue()).toBe(0);
      now = minutes(10);
      expect(await emulator.runDue()).toBe(1);
      expect(invocations).toHaveLength(2);
    });
  });

  describe('firing by the injected clock', () => {
    const fired = () => invocations.map((invocation) => JSON.parse(invocation.input) as Record<string, unknown>);

    it('fires a rate schedule when due, once per tick, with the context attributes filled in', async () => {
      const { ScheduleArn } = await client.send(new CreateScheduleCommand(schedule()));
      now = minutes(4);
      expect(await emulator.runDue()).toBe(0);
      now = minutes(5);
      expect(await emulator.runDue()).toBe(1);
      expect(await emulator.runDue()).toBe(0);

      expect(invocations[0]?.targetArn).toBe(TARGET_ARN);
      expect(fired()[0]).toEqual({ arn: ScheduleArn, at: '2026-03-02T10:05:00Z', id: expect.stringMatching(/^[0-9a-f-]{36}$/), try: 1 });
    });

    it('fires only the latest missed tick, not a backlog', async () => {
      await client.send(new CreateScheduleCommand(schedule()));
      now = minutes(23);
      expect(await emulator.runDue()).toBe(1);
      expect(await emulator.runDue()).toBe(0);
      expect(fired().map((tick) => tick.at)).toEqual(['2026-03-02T10:20:00Z']);
    });

    it('does not fire a disabled schedule, and re-enabling skips the ticks it missed', async () => {
      await client.send(new CreateScheduleCommand(schedule({ State: 'DISABLED' })));
      now = minutes(12);
      expect(await emulator.runDue()).toBe(0);

      await client.send(new UpdateScheduleCommand(schedule({ State: 'ENABLED' })));
      now = minutes(13);
      expect(await emulator.runDue()).toBe(0);
      now = minutes(15);
      expect(await emulator.runDue()).toBe(1);
      expect(fired().map((tick) => tick.at)).toEqual(['2026-03-02T10:15:00Z']);
    });

    it('retries a failed delivery on a later pass with the same scheduled time and a new attempt', async () => {
      await client.send(new CreateScheduleCommand(schedule()));
      now = minutes(5);
      failInvocations = true;
      expect(await emulator.runDue()).toBe(1);
      expect(invocations).toHaveLength(0);

      failInvocations = false;
      now = new Date(minutes(5).getTime() + 10_000);
      expect(await emulator.runDue()).toBe(1);
      expect(fired()).toEqual([expect.objectContaining({ at: '2026-03-02T10:05:00Z', try: 2 })]);
      expect(await emulator.runDue()).toBe(0);
    });

    it('gives a failed delivery up once the RetryPolicy is spent', async () => {
      await client.send(
        new CreateScheduleCommand(
          schedule({ Target: { ...schedule().Target!, RetryPolicy: { MaximumRetryAttempts: 1, MaximumEventAgeInSeconds: 60 } } }),
        ),
      );
      failInvocations = true;
      now = minutes(5);
      expect(await emulator.runDue()).toBe(1);
      expect(await emulator.runDue()).toBe(1);
      expect(await emulator.runDue()).toBe(0);
      failInvocations = false;
      now = minutes(10);
      expect(await emulator.runDue()).toBe(1);
      expect(fired()).toEqual([expect.objectContaining({ at: '2026-03-02T10:10:00Z', try: 1 })]);
    });

    it('fires an at() schedule once, at its time in its time zone', async () => {
      await client.send(
        new CreateScheduleCommand(
          schedule({ ScheduleExpression: 'at(2026-03-02T11:30:00)', ScheduleExpressionTimezone: 'Europe/Berlin' }),
        ),
      );
      now = minutes(29);
      expect(await emulator.runDue()).toBe(0);
      now = minutes(30);
      expect(await emulator.runDue()).toBe(1);
      now = minutes(90);
      expect(await emulator.runDue()).toBe(0);
      expect(fired().map((tick) => tick.at)).toEqual(['2026-03-02T10:30:00Z']);
    });

    it('counts a rate from its StartDate when it has one and stops after its EndDate', async () => {
      await client.send(
        new CreateScheduleCommand(schedule({ StartDate: minutes(2), EndDate: minutes(9), ScheduleExpression: 'rate(5 minutes)' })),
      );
      now = minutes(2);
      expect(await emulator.runDue()).toBe(1);
      now = minutes(7);
      expect(await emulator.runDue()).toBe(1);
      now = minutes(12);
      expect(await emulator.runDue()).toBe(0);
      expect(fired().map((tick) => tick.at)).toEqual(['2026-03-02T10:02:00Z', '2026-03-02T10:07:00Z']);
    });
  });
});
