import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetScheduleCommand, paginateListSchedules } from '@aws-sdk/client-scheduler';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { TestStack } from '../support/local-stack.ts';

/**
 * Everything a request could change, read beneath the API: every item of the table (jobs with their status and
 * schedule, customised schemas, the write-only secrets, purge records, provisioning records) and every schedule of
 * the Scheduler emulator. Keyed so that two states compare item by item.
 */
export interface StoredState {
  /** `pk sk` → the item as canonical JSON. */
  items: Map<string, string>;
  /** Schedule name → its state, expression and target input. */
  schedules: Map<string, string>;
}

/** JSON with sorted keys and binary as base64, so equal items always print alike. */
function canonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return { binary: Buffer.from(value).toString('base64') };
  if (value instanceof Set) return { set: [...value].map(canonical).sort() };
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
}

export function stateReader(t: TestStack) {
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: t.stack.dynamoDbEndpoint, maxAttempts: 1 }));

  async function read(): Promise<StoredState> {
    const items = new Map<string, string>();
    for await (const page of paginateScan({ client: dynamo }, { TableName: t.stack.tableName, ConsistentRead: true })) {
      for (const item of page.Items ?? []) items.set(`${item.pk} ${item.sk}`, JSON.stringify(canonical(item)));
    }
    const names: string[] = [];
    for await (const page of paginateListSchedules({ client: t.scheduler }, { GroupName: t.stack.scheduleGroup })) {
      names.push(...(page.Schedules ?? []).map((schedule) => schedule.Name ?? ''));
    }
    const schedules = new Map<string, string>();
    await Promise.all(
      names.map(async (name) => {
        const schedule = await t.scheduler.send(new GetScheduleCommand({ Name: name, GroupName: t.stack.scheduleGroup }));
        schedules.set(name, JSON.stringify({ state: schedule.State, expression: schedule.ScheduleExpression, input: schedule.Target?.Input }));
      }),
    );
    return { items, schedules };
  }

  return { read, close: () => dynamo.destroy() };
}

export interface StateChange {
  /** `+`, `-` or `~`, then the item key or `schedule <name>`. */
  what: string;
  /** The changed value, short. */
  detail: string;
}

/** What differs from `before` to `after`, item by item and schedule by schedule. */
export function changesBetween(before: StoredState, after: StoredState): StateChange[] {
  const changes: StateChange[] = [];
  const compare = (label: string, was: Map<string, string>, now: Map<string, string>) => {
    for (const [key, value] of now) {
      const old = was.get(key);
      if (old === undefined) changes.push({ what: `+ ${label}${key}`, detail: value.slice(0, 300) });
      else if (old !== value) changes.push({ what: `~ ${label}${key}`, detail: `${old.slice(0, 300)}\n  → ${value.slice(0, 300)}` });
    }
    for (const [key, value] of was) if (!now.has(key)) changes.push({ what: `- ${label}${key}`, detail: value.slice(0, 300) });
  };
  compare('', before.items, after.items);
  compare('schedule ', before.schedules, after.schedules);
  return changes;
}

/** The jobs the state holds, any tenant's: from the job items (`T#<tenant>#SP#<sp>` / `JOB#<id>`). */
export function jobsIn(state: StoredState): { tenantId: string; servicePrincipalId: string; jobId: string }[] {
  const jobs: { tenantId: string; servicePrincipalId: string; jobId: string }[] = [];
  for (const key of state.items.keys()) {
    const match = /^T#([^#]+)#SP#(\S+) JOB#([^#\s]+)$/.exec(key);
    if (match) jobs.push({ tenantId: match[1]!, servicePrincipalId: match[2]!, jobId: match[3]! });
  }
  return jobs;
}
