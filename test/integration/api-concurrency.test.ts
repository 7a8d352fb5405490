import { GetScheduleCommand, ResourceNotFoundException } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleNameFor } from '../../functions/domain/ids.ts';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'busy-app';
const EXPECTED_SCHEDULE_STATE = { Active: 'ENABLED', Paused: 'DISABLED' } as const;

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
  const secrets = await t.api('PUT', syncPath(SP, '/secrets'), {
    body: { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: t.stack.scimToken }] },
  });
  expect(secrets.status).toBe(204);
});

afterAll(async () => {
  await t?.close();
});

describe('concurrent commands on one job', () => {
  it.each([1, 2, 3])('parallel start, pause and restart never leave job and schedule disagreeing (round %i)', async (round) => {
    const created = await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } });
    expect(created.status).toBe(201);
    const jobId: string = created.json.id;
    const base = syncPath(SP, `/jobs/${jobId}`);
    const actions = ['start', 'pause', 'start', 'pause', 'restart', 'pause', 'start', 'pause'];
    const order = round % 2 === 0 ? actions : [...actions].reverse();
    const answers = await Promise.all(order.map((action) => t.api('POST', `${base}/${action}`)));
    for (const answer of answers) {
      // Losing every retry against concurrent writers is a 409 the client retries; nothing else is acceptable.
      expect([204, 409]).toContain(answer.status);
      if (answer.status === 409) expect(answer.json.error.code).toBe('conflict');
    }
    expect(answers.some((answer) => answer.status === 204)).toBe(true);

    const job = await t.api('GET', base);
    expect(job.status).toBe(200);
    const state = job.json.schedule.state as keyof typeof EXPECTED_SCHEDULE_STATE;
    const schedule = await t.scheduler.send(
      new GetScheduleCommand({ Name: scheduleNameFor(LOCAL_TENANT_ID, jobId), GroupName: t.stack.scheduleGroup }),
    );
    expect(schedule.State).toBe(EXPECTED_SCHEDULE_STATE[state]);
    expect(job.json.status.code === 'Paused').toBe(state === 'Paused');
  });

  it.each([1, 2])('parallel starts and a delete never leave a schedule behind a deleted job (round %i)', async () => {
    const created = await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } });
    const jobId: string = created.json.id;
    const base = syncPath(SP, `/jobs/${jobId}`);
    const answers = await Promise.all([
      t.api('POST', `${base}/start`),
      t.api('DELETE', base),
      t.api('POST', `${base}/start`),
      t.api('POST', `${base}/restart`),
    ]);
    for (const answer of answers) expect([204, 404, 409]).toContain(answer.status);
    const job = await t.api('GET', base);
    const name = scheduleNameFor(LOCAL_TENANT_ID, jobId);
    const schedule = t.scheduler.send(new GetScheduleCommand({ Name: name, GroupName: t.stack.scheduleGroup }));
    if (job.status === 404) {
      await expect(schedule).rejects.toBeInstanceOf(ResourceNotFoundException);
    } else {
      expect((await schedule).State).toBe(EXPECTED_SCHEDULE_STATE[job.json.schedule.state as 'Active' | 'Paused']);
    }
  });
});
