import { GetScheduleCommand } from '@aws-sdk/client-scheduler';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { scheduleNameFor } from '../../functions/domain/ids.ts';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'durable-app';

let dataDir: string | undefined;
let current: TestStack | undefined;

afterAll(async () => {
  await current?.close(true);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('local stack restart', () => {
  it('keeps jobs, their schedules and secrets across close and start on the same data directory', async () => {
    const first = await startTestStack({ onDisk: true });
    current = first;
    dataDir = first.dataDir;
    const secrets = await first.api('PUT', syncPath(SP, '/secrets'), {
      body: { value: [{ key: 'BaseAddress', value: first.stack.scimUrl }, { key: 'SecretToken', value: first.stack.scimToken }] },
    });
    expect(secrets.status).toBe(204);
    const idle = (await first.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim', schedule: { interval: 'PT15M' } } })).json.id;
    const running = (await first.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } })).json.id;
    expect((await first.api('POST', syncPath(SP, `/jobs/${running}/start`))).status).toBe(204);
    const before = await first.api('GET', syncPath(SP, '/jobs'));
    expect(before.json.value).toHaveLength(2);
    const idleBefore = (await first.api('GET', syncPath(SP, `/jobs/${idle}`))).json;
    await first.close(true);
    current = undefined;

    const second = await startTestStack({ dataDir, onDisk: true, ports: first.ports });
    current = second;
    // Tokens signed before the restart still verify: the signing key lives in the data directory.
    const after = await second.api('GET', syncPath(SP, '/jobs'), { token: first.token });
    expect(after.status).toBe(200);
    expect(after.json.value.map((job: { id: string }) => job.id).sort()).toEqual([idle, running].sort());
    expect((await second.api('GET', syncPath(SP, `/jobs/${idle}`))).json).toEqual(idleBefore);
    expect((await second.api('GET', syncPath(SP, `/jobs/${running}`))).json.schedule.state).toBe('Active');
    const schedule = await second.scheduler.send(
      new GetScheduleCommand({ Name: scheduleNameFor(LOCAL_TENANT_ID, running), GroupName: second.stack.scheduleGroup }),
    );
    expect(schedule.State).toBe('ENABLED');
    expect(schedule.ScheduleExpression).toBe('rate(5 minutes)');
    // The stored (encrypted) secrets still decrypt: the idle job can start.
    expect((await second.api('POST', syncPath(SP, `/jobs/${idle}/start`))).status).toBe(204);
  });
});
