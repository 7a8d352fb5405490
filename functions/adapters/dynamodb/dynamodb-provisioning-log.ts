import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import { InvalidCursorError } from '../../ports/job-store.ts';
import type { ProvisioningLog, ProvisioningLogEquals, ProvisioningLogQuery } from '../../ports/provisioning-log.ts';
import type { ProvisioningObjectSummary } from '../../schemas/provisioning-log.ts';
import { JobPartition, type Item } from './job-partition.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Items read per Query call while looking for a page's records. */
const QUERY_LIMIT = 200;

/** The item attribute each equality filter reads. */
const FILTER_ATTRIBUTES: Record<keyof ProvisioningLogEquals, string> = {
  id: 'rid',
  jobId: 'job',
  cycleId: 'cycle',
  changeId: 'rid',
  provisioningAction: 'act',
  status: 'st',
  sourceId: 'src',
  targetId: 'tgt',
  servicePrincipalId: 'sp',
};

/**
 * A record deflates to a few hundred bytes. zlib's default output chunk is 16 KB, a fresh native buffer per call
 * that the record's bytes are a view of until a collection; a 1 KB chunk comes from Node.js's shared buffer pool (a
 * larger record takes several, joined), so writing a page of records leaves no native buffers behind.
 */
const DEFLATE_OPTIONS = { chunkSize: 1024 };

/** Items one request reads at most: a filter that matches little still answers in time, with a nextLink. */
const SCAN_BUDGET = 5_000;

/** Where a page stopped: a day and the sort key after which to go on (null: from the day's newest). */
const cursorSchema = z.object({ d: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)), k: z.nullable(z.string().check(z.minLength(1))) });

const dayOf = (time: string | Date) => new Date(time).toISOString().slice(0, 10);

/**
 * Provisioning records as one item each in a partition per tenant and day (`T#<tid>#LOG#<yyyy-mm-dd>`, sort key
 * `<activityDateTime>#<changeId>`), so a page is read newest first with no index. The Graph record is stored
 * deflated (a typical one fits in one write unit); the fields filters compare are kept beside it. Items carry
 * `expiresAt` for DynamoDB's TTL, and a read never returns one past the retention (dynalite has no TTL).
 */
export class DynamoDbProvisioningLog implements ProvisioningLog {
  private readonly partition: JobPartition;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
  ) {
    this.partition = new JobPartition(client, tableName);
  }

  async append(records: readonly ProvisioningObjectSummary[]): Promise<void> {
    await this.partition.write(
      records.map((record) => ({
        pk: pkOf(record.tenantId, dayOf(record.activityDateTime)),
        sk: `${record.activityDateTime}#${record.changeId}`,
        rid: record.changeId,
        job: record.jobId,
        cycle: record.cycleId,
        act: record.provisioningAction,
        st: record.provisioningStatusInfo.status,
        src: record.sourceIdentity.id,
        tgt: record.targetIdentity.id,
        sp: record.servicePrincipal.id,
        record: deflateRawSync(JSON.stringify(compact(record)), DEFLATE_OPTIONS),
        expiresAt: Math.floor((Date.parse(record.activityDateTime) + this.retentionDays * DAY_MS) / 1000),
      })),
      [],
    );
  }

  async query(query: ProvisioningLogQuery): Promise<{ records: ProvisioningObjectSummary[]; cursor: string | null }> {
    const oldest = new Date(query.now.getTime() - this.retentionDays * DAY_MS).toISOString();
    const after = query.after !== undefined && query.after > oldest ? query.after : oldest;
    const before = query.before !== undefined && query.before < query.now.toISOString() ? query.before : null;
    const start = query.cursor === null ? null : parseCursor(query.cursor);
    const filters = Object.entries(query.equals).filter(([, value]) => value !== undefined) as [keyof ProvisioningLogEquals, string][];
    const names = Object.fromEntries(filters.map(([field]) => [`#${field}`, FILTER_ATTRIBUTES[field]]));
    const values: Item = Object.fromEntries(filters.map(([field, value]) => [`:${field}`, value]));
    const filterExpression = [...filters.map(([field]) => `#${field} = :${field}`), 'expiresAt > :now'].join(' AND ');

    const found: { day: string; sk: string; record: ProvisioningObjectSummary }[] = [];
    // One more than a page: whether there is a next page is then known without another request.
    const wanted = query.top + 1;
    let scanned = 0;
    for (let day = start?.d ?? dayOf(before ?? query.now); day >= dayOf(after) && found.length < wanted; day = previousDay(day)) {
      let exclusiveStart: Item | undefined = start && start.d === day && start.k !== null ? { pk: pkOf(query.tenantId, day), sk: start.k } : undefined;
      do {
        // Out of budget: the page ends here, short, and the next one goes on from where this read stopped.
        if (scanned >= SCAN_BUDGET) return { records: found.map((entry) => entry.record), cursor: cursorOf(day, exclusiveStart ? String(exclusiveStart.sk) : null) };
        const response = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            // The sort key starts with the time: `<after>~` sorts after every key of that instant, `<before>` before.
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :low AND :high',
            FilterExpression: filterExpression,
            ...(filters.length > 0 ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: {
              ...values,
              ':pk': pkOf(query.tenantId, day),
              ':low': `${after}~`,
              ':high': before ?? '~',
              ':now': Math.floor(query.now.getTime() / 1000),
            },
            ScanIndexForward: false,
            Limit: QUERY_LIMIT,
            ...(exclusiveStart ? { ExclusiveStartKey: exclusiveStart } : {}),
          }),
        );
        for (const item of response.Items ?? []) {
          found.push({ day, sk: String(item.sk), record: expand(item, query.tenantId) });
        }
        scanned += response.ScannedCount ?? 0;
        exclusiveStart = response.LastEvaluatedKey;
      } while (exclusiveStart && found.length < wanted);
    }
    const page = found.slice(0, query.top);
    const last = page.at(-1);
    return {
      records: page.map((entry) => entry.record),
      cursor: found.length > query.top && last ? cursorOf(last.day, last.sk) : null,
    };
  }
}

/** What the item keeps beside the record: ids (incompressible) stored once, not again inside it. */
type Compacted = Omit<ProvisioningObjectSummary, 'id' | 'changeId' | 'tenantId' | 'jobId' | 'cycleId' | 'activityDateTime' | 'provisioningAction'>;

function compact(record: ProvisioningObjectSummary): Compacted {
  const { id: _id, changeId: _changeId, tenantId: _tenantId, jobId: _jobId, cycleId: _cycleId, activityDateTime: _at, provisioningAction: _action, ...rest } = record;
  return {
    ...rest,
    servicePrincipal: { ...rest.servicePrincipal, id: '' },
    targetSystem: { ...rest.targetSystem, id: '' },
    sourceIdentity: { ...rest.sourceIdentity, id: '' },
    targetIdentity: { ...rest.targetIdentity, id: '' },
  };
}

function expand(item: Item, tenantId: string): ProvisioningObjectSummary {
  const stored = JSON.parse(inflateRawSync(item.record as Uint8Array).toString('utf8')) as Compacted;
  const [activityDateTime = ''] = String(item.sk).split('#');
  const [sp, src, tgt, changeId] = [item.sp, item.src, item.tgt, item.rid].map(String) as [string, string, string, string];
  return {
    id: changeId,
    activityDateTime,
    tenantId,
    jobId: String(item.job),
    cycleId: String(item.cycle),
    changeId,
    provisioningAction: item.act as ProvisioningObjectSummary['provisioningAction'],
    ...stored,
    servicePrincipal: { ...stored.servicePrincipal, id: sp },
    targetSystem: { ...stored.targetSystem, id: sp },
    sourceIdentity: { ...stored.sourceIdentity, id: src },
    targetIdentity: { ...stored.targetIdentity, id: tgt },
  };
}

function cursorOf(day: string, sortKey: string | null): string {
  return Buffer.from(JSON.stringify({ d: day, k: sortKey })).toString('base64url');
}

function pkOf(tenantId: string, day: string): string {
  return `T#${tenantId}#LOG#${day}`;
}

function previousDay(day: string): string {
  return dayOf(new Date(Date.parse(`${day}T00:00:00.000Z`) - DAY_MS));
}

function parseCursor(cursor: string): z.infer<typeof cursorSchema> {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw new InvalidCursorError();
  }
}
