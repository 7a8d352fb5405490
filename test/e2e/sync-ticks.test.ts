import {
  CreateScheduleCommand,
  GetScheduleCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleNameFor } from '../../functions/domain/ids.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let scheduler: SchedulerClient;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 30, seedGroups: 3 });
  await h.putSecrets(h.scim.url, h.scimToken);
  scheduler = new SchedulerClient({ endpoint: h.stack.schedulerUrl });
});
afterAll(async () => {
  scheduler?.destroy();
  await h?.close();
});

const GroupName = () => h.stack.scheduleGroup;
const scheduleOf = (jobId: string) => scheduler.send(new GetScheduleCommand({ Name: scheduleNameFor(h.tenantId, jobId), GroupName: GroupName() }));

async function strayScheduleFor(jobId: string): Promise<void> {
  await scheduler.send(
    new CreateScheduleCommand({
      Name: scheduleNameFor(h.tenantId, jobId),
      GroupName: GroupName(),
      ScheduleExpression: 'rate(40 minutes)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: 'arn:aws:lambda:us-east-1:000000000000:function:sync-job',
        RoleArn: 'arn:aws:iam::000000000000:role/graph-sync-jobs-scheduler',
        Input: JSON.stringify(h.tickOf(jobId, 'schedule')),
      },
    }),
  );
}

describe('sync ticks delivered twice, late or for jobs that are gone', () => {
  it('the same tick delivered twice at once provisions each account once', async () => {
    const jobId = await h.createJob();
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    const outcomes = await Promise.all([h.runJob(jobId), h.runJob(jobId), ...h.triggered().map(() => h.runJob(jobId))]);
    expect(outcomes.map((result) => result.outcome)).toContain('steadyState');
    await h.drainTriggered();

    const users = h.scim.resources('Users');
    expect(users).toHaveLength(30);
    expect(new Set(users.map((user) => user.userName)).size).toBe(30);
    const groups = h.scim.resources('Groups');
    expect(groups).toHaveLength(3);
    expect(new Set(groups.map((group) => group.displayName)).size).toBe(3);
    expect(h.scim.requests().filter((request) => request.method === 'POST')).toHaveLength(33);
    expect((await h.getJob(jobId)).status.synchronizedEntryCountByType).toEqual(
      expect.arrayContaining([{ key: 'User', value: 30 }, { key: 'Group', value: 3 }]),
    );
    await h.expectOk('DELETE', `/jobs/${jobId}`);
  });

  it('a schedule tick for a paused job disables its schedule', async () => {
    const jobId = await h.createJob();
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    await h.drainTriggered();
    await h.expectOk('POST', `/jobs/${jobId}/pause`);
    const schedule = await scheduleOf(jobId);
    expect(schedule.State).toBe('DISABLED');
    // The schedule came back on behind the service's back (a lost update, a manual change).
    await scheduler.send(
      new UpdateScheduleCommand({
        Name: schedule.Name!,
        GroupName: GroupName(),
        ScheduleExpression: schedule.ScheduleExpression!,
        FlexibleTimeWindow: schedule.FlexibleTimeWindow!,
        Target: schedule.Target!,
        State: 'ENABLED',
      }),
    );
    expect((await scheduleOf(jobId)).State).toBe('ENABLED');
    h.scim.clearRequests();

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('inactive');

    expect((await scheduleOf(jobId)).State).toBe('DISABLED');
    expect(h.scim.requests()).toEqual([]);
    await h.expectOk('DELETE', `/jobs/${jobId}`);
  });

  it('a schedule tick for a deleted or unknown job removes the stray schedule', async () => {
    const deleted = await h.createJob();
    await h.expectOk('DELETE', `/jobs/${deleted}`);
    await strayScheduleFor(deleted);
    const unknown = '00000000-0000-4000-8000-0000000000aa';
    await strayScheduleFor(unknown);
    h.scim.clearRequests();

    expect((await h.runJob(deleted, 'schedule')).outcome).toBe('unknownJob');
    expect((await h.runJob(unknown, 'schedule')).outcome).toBe('unknownJob');

    for (const jobId of [deleted, unknown]) {
      await expect(scheduleOf(jobId)).rejects.toBeInstanceOf(ResourceNotFoundException);
    }
    expect(h.scim.requests()).toEqual([]);
  });
});
