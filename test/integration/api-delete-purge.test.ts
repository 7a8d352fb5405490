import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand, ListSchedulesCommand } from '@aws-sdk/client-scheduler';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../functions/adapters/dynamodb/table-keys.ts';
import type { Clock } from '../../functions/ports/clock.ts';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'delete-app';

let now = Date.parse('2026-05-01T09:00:00.000Z');
const clock: Clock = { now: () => new Date(now) };
let t: TestStack;
let dynamo: DynamoDBDocumentClient;

async function count(pk: string, prefix?: string): Promise<number> {
  const { Count = 0 } = await dynamo.send(
    new QueryCommand({
      TableName: t.stack.tableName,
      KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk, ...(prefix ? { ':prefix': prefix } : {}) },
      Select: 'COUNT',
    }),
  );
  return Count;
}

async function until(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  // No worker runs beside the purge here, so it need not wait for late writes.
  t = await startTestStack({ clock, purgeSettleSeconds: 0 });
  dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: t.stack.dynamoDbEndpoint }));
});

afterAll(async () => {
  dynamo?.destroy();
  await t?.close();
});

describe('DELETE /jobs/{id} on the local stack', () => {
  it('answers 204 at once and the Scheduler emulator has the worker purge the job in the background', async () => {
    const created = await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } });
    expect(created.status).toBe(201);
    const jobId: string = created.json.id;
    const schema = (await t.api('GET', syncPath(SP, `/jobs/${jobId}/schema`))).json;
    expect((await t.api('PUT', syncPath(SP, `/jobs/${jobId}/schema`), { body: schema })).status).toBe(204);
    const partition = keys.jobObjects(LOCAL_TENANT_ID, jobId);
    for (let i = 0; i < 600; i += 25) {
      await dynamo.send(
        new BatchWriteCommand({
          RequestItems: {
            [t.stack.tableName]: Array.from({ length: 25 }, (_, j) => ({
              PutRequest: { Item: { pk: partition, sk: `G0#L#User#user-${i + j}`, type: 'User', targetId: 't', exported: {} } },
            })),
          },
        }),
      );
    }
    const spPartition = keys.servicePrincipal(LOCAL_TENANT_ID, SP);
    expect(await count(partition)).toBe(600);
    expect(await count(spPartition, keys.schemaPrefix(jobId))).toBe(1);

    expect((await t.api('DELETE', syncPath(SP, `/jobs/${jobId}`))).status).toBe(204);
    expect((await t.api('GET', syncPath(SP, `/jobs/${jobId}`))).status).toBe(404);
    expect((await t.api('GET', syncPath(SP, '/jobs'))).json.value).toEqual([]);
    const listed = await t.scheduler.send(new ListSchedulesCommand({ GroupName: t.stack.scheduleGroup }));
    const names = (listed.Schedules ?? []).map((schedule) => schedule.Name!);
    expect(names).toEqual([expect.stringMatching(/^purge-[0-9a-f]{40}$/)]);
    const schedule = await t.scheduler.send(new GetScheduleCommand({ Name: names[0], GroupName: t.stack.scheduleGroup }));
    expect(schedule.ScheduleExpression).toBe('rate(1 minute)');
    expect(await count(partition)).toBe(600);

    // A minute on, the emulator fires the purge schedule at the worker, as EventBridge Scheduler would.
    now += 61_000;
    expect(await t.stack.runDueSchedules()).toBe(1);
    await until(async () => (await count(partition)) === 0, 'the partition is empty');
    await until(
      async () => !(await dynamo.send(new GetCommand({ TableName: t.stack.tableName, Key: { pk: spPartition, sk: keys.pendingPurge(jobId) } }))).Item,
      'the purge record is gone',
    );
    expect(await count(spPartition, keys.schemaPrefix(jobId))).toBe(0);
    await until(
      async () => ((await t.scheduler.send(new ListSchedulesCommand({ GroupName: t.stack.scheduleGroup }))).Schedules ?? []).length === 0,
      'the purge schedule is removed',
    );
  });
});
