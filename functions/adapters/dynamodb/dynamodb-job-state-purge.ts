import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { JobStatePurge, PendingPurge } from '../../ports/job-state-purge.ts';
import type { JobKey } from '../../schemas/stored-job.ts';
import { keys } from './table-keys.ts';

const BATCH_WRITE = 25;
/** BatchWrites in flight at once: an on-demand table takes this easily, and a slice goes ~4× as far. */
const CONCURRENT_WRITES = 4;
/** Waits before resending items DynamoDB left unprocessed (it throttled them), doubling up to the last. */
const UNPROCESSED_BACKOFF_MS = [50, 100, 200, 400, 800, 1600];

const pendingItemSchema = z.object({ tenantId: z.string(), servicePrincipalId: z.string(), jobId: z.string(), deletedAt: z.string() });

type ItemKey = { pk: string; sk: string };

export interface DynamoDbJobStatePurgeOptions {
  /** Waits between retries of unprocessed items; tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The pending-purge record sits beside the job item (`PURGE#<jobId>` in the service principal's partition), so it
 * is a tenant's item like the job. Removing the state deletes by key only: the job's own partition, Query by
 * Query, then the `SCHEMA#<jobId>#` items and the `JOB#<jobId>#` items beside the job (its idle rounds) of the
 * service principal's partition. Every Query is strongly consistent, so a slice never re-reads what the one
 * before it deleted.
 */
export class DynamoDbJobStatePurge implements JobStatePurge {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: DynamoDbJobStatePurgeOptions = {},
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async record(purge: PendingPurge): Promise<void> {
    const { tenantId, servicePrincipalId, jobId } = purge.key;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...this.recordKey(purge.key), tenantId, servicePrincipalId, jobId, deletedAt: purge.deletedAt },
      }),
    );
  }

  async pending(key: JobKey): Promise<PendingPurge | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.recordKey(key), ConsistentRead: true }),
    );
    if (!Item) return null;
    const item = pendingItemSchema.parse(Item);
    return {
      key: { tenantId: item.tenantId, servicePrincipalId: item.servicePrincipalId, jobId: item.jobId },
      deletedAt: item.deletedAt,
    };
  }

  async removeSome(key: JobKey, limit: number): Promise<number> {
    const found =
      (await this.keysOf(keys.jobObjects(key.tenantId, key.jobId), null, limit)) ??
      (await this.keysOf(keys.servicePrincipal(key.tenantId, key.servicePrincipalId), keys.schemaPrefix(key.jobId), limit)) ??
      (await this.keysOf(keys.servicePrincipal(key.tenantId, key.servicePrincipalId), keys.jobSiblingPrefix(key.jobId), limit));
    if (!found) return 0;
    await this.deleteAll(found);
    return found.length;
  }

  async forget(key: JobKey): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: this.recordKey(key) }));
  }

  private recordKey(key: JobKey): ItemKey {
    return { pk: keys.servicePrincipal(key.tenantId, key.servicePrincipalId), sk: keys.pendingPurge(key.jobId) };
  }

  /** Up to `limit` keys of the partition (within the sort-key prefix); null when there are none. */
  private async keysOf(pk: string, prefix: string | null, limit: number): Promise<ItemKey[] | null> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: prefix === null ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ...(prefix === null ? {} : { ':prefix': prefix }) },
        ProjectionExpression: 'pk, sk',
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return Items.length === 0 ? null : Items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));
  }

  private async deleteAll(itemKeys: ItemKey[]): Promise<void> {
    const batches: ItemKey[][] = [];
    for (let i = 0; i < itemKeys.length; i += BATCH_WRITE) batches.push(itemKeys.slice(i, i + BATCH_WRITE));
    let next = 0;
    const lane = async () => {
      while (next < batches.length) await this.deleteBatch(batches[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT_WRITES, batches.length) }, lane));
  }

  private async deleteBatch(batch: ItemKey[]): Promise<void> {
    let pending: Record<string, unknown>[] = batch.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 0; ; attempt += 1) {
      const { UnprocessedItems } = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
      pending = (UnprocessedItems?.[this.tableName] ?? []) as Record<string, unknown>[];
      if (pending.length === 0) return;
      const wait = UNPROCESSED_BACKOFF_MS[attempt];
      // Still throttled after every wait: fail this slice, and the purge schedule's next tick takes it up again.
      if (wait === undefined) throw new Error(`DynamoDB left ${pending.length} deletes unprocessed after ${attempt + 1} attempts`);
      await this.sleep(wait);
    }
  }
}
