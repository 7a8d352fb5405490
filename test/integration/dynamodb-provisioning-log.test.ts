import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbProvisioningLog } from '../../functions/adapters/dynamodb/dynamodb-provisioning-log.ts';
import { provisioningRecord } from '../../functions/domain/provisioning-records.ts';
import type { ProvisioningObjectSummary } from '../../functions/schemas/provisioning-log.ts';
import { dynamoDbTableForTests } from '../support/dynamodb-table.ts';

const TABLE = 'provisioning-logs';
const DAY = 24 * 60 * 60 * 1000;
const table = dynamoDbTableForTests(TABLE);

/** A record as the engine writes one: a user created, with a typical set of attributes. */
function recordAt(tenantId: string, jobId: string, at: Date, index: number): ProvisioningObjectSummary {
  const attributes = { userName: `user${index}@contoso.example`, displayName: `User ${index}`, 'name.givenName': 'User', 'name.familyName': `${index}`, 'emails[type eq "work"].value': `user${index}@contoso.example`, title: 'Engineer', department: 'Platform', active: true };
  return provisioningRecord(
    { ref: { type: 'User', sourceId: randomUUID() }, action: 'create', targetId: randomUUID(), durationMs: 12, changes: Object.entries(attributes).map(([attribute, newValue]) => ({ attribute, oldValue: undefined, newValue })) },
    `User ${index}`,
    { tenantId, servicePrincipalId: randomUUID(), jobId, cycleId: randomUUID(), initiatedBy: { id: '', displayName: 'Schedule', initiatorType: 'system' }, activityDateTime: at.toISOString(), newId: randomUUID },
  )!;
}

describe('DynamoDbProvisioningLog', () => {
  it('pages newest first across days, keeps a typical record under one write unit, and returns nothing past the retention', async () => {
    const log = new DynamoDbProvisioningLog(table.client, TABLE, 30);
    const tenantId = randomUUID();
    const now = new Date('2026-12-02T12:00:00.000Z');
    // Five records a day over the last 35 days, and records of another job.
    const records = Array.from({ length: 35 * 5 }, (_, i) => recordAt(tenantId, 'job-a', new Date(now.getTime() - Math.floor(i / 5) * DAY - (i % 5) * 60_000), i));
    await log.append([...records, ...Array.from({ length: 20 }, (_, i) => recordAt(tenantId, 'job-b', new Date(now.getTime() - i * 3_600_000), i))]);

    const { Items = [] } = await table.client.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `T#${tenantId}#LOG#2026-12-02` } }));
    expect(Math.max(...Items.map((item) => Buffer.byteLength(JSON.stringify({ ...item, record: undefined })) + (item.record as Uint8Array).length))).toBeLessThan(1024);

    const seen: ProvisioningObjectSummary[] = [];
    let cursor: string | null = null;
    do {
      const page: { records: ProvisioningObjectSummary[]; cursor: string | null } = await log.query({ tenantId, equals: { jobId: 'job-a' }, top: 17, cursor, now });
      seen.push(...page.records);
      cursor = page.cursor;
    } while (cursor);
    const kept = records.filter((record) => Date.parse(record.activityDateTime) > now.getTime() - 30 * DAY);
    expect(seen.map((record) => record.changeId)).toEqual([...kept].sort((a, b) => b.activityDateTime.localeCompare(a.activityDateTime)).map((record) => record.changeId));
    expect(seen[0]).toEqual(kept[0]);

    const window = await log.query({ tenantId, equals: { jobId: 'job-a' }, after: new Date(now.getTime() - 2 * DAY).toISOString(), before: new Date(now.getTime() - DAY + 1).toISOString(), top: 100, cursor: null, now });
    expect(window.records).toHaveLength(5);
    expect(window.cursor).toBeNull();

    const other = await log.query({ tenantId: randomUUID(), equals: {}, top: 100, cursor: null, now });
    expect(other.records).toEqual([]);
  });

  it('reads a bounded number of items per page: a filter that matches little pages through a busy tenant', async () => {
    const log = new DynamoDbProvisioningLog(table.client, TABLE, 30);
    const tenantId = randomUUID();
    const now = new Date('2026-12-02T12:00:00.000Z');
    // One job's three records, the oldest, under 12,000 of another job's.
    const rare = [1, 2, 3].map((i) => recordAt(tenantId, 'rare', new Date(now.getTime() - DAY - i * 60_000), i));
    const busy = Array.from({ length: 12_000 }, (_, i) => recordAt(tenantId, 'busy', new Date(now.getTime() - (i % 1000) * 1000), i));
    await log.append([...rare, ...busy]);

    const pages: number[] = [];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { records: ProvisioningObjectSummary[]; cursor: string | null } = await log.query({ tenantId, equals: { jobId: 'rare' }, top: 50, cursor, now });
      pages.push(page.records.length);
      seen.push(...page.records.map((record) => record.changeId));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(rare.map((record) => record.changeId));
    // The busy job's records are read a page at a time, not all in one request.
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.slice(0, 2)).toEqual([0, 0]);
  }, 120_000);
});
