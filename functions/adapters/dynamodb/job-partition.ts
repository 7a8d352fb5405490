import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { chunks } from '../../domain/chunks.ts';
import { InvalidCursorError } from '../../ports/job-store.ts';
import { keys } from './table-keys.ts';

const BATCH_GET = 100;
const BATCH_WRITE = 25;
/** Batches in flight at once: a page's writes are many small batches, and one after the other they add up. */
const IN_FLIGHT = 4;
/** Rounds of unprocessed keys or items retried before giving up (DynamoDB throttling that does not pass). */
const MAX_UNPROCESSED_ROUNDS = 8;

export type Item = Record<string, unknown>;
export type Key = { pk: string; sk: string };

const backoff = (round: number) => new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** round) * Math.random()));

/**
 * The items one job keeps in its own partition (`T#<tenant>#JOB#<job>`): batched reads and writes that retry what
 * DynamoDB left unprocessed with back-off, and key-ordered queries under a sort-key prefix with an opaque cursor.
 */
export class JobPartition {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  pk(tenantId: string, jobId: string): string {
    return keys.jobObjects(tenantId, jobId);
  }

  /** Strongly consistent. */
  async getMany(pk: string, sortKeys: string[]): Promise<Item[]> {
    const found: Item[] = [];
    await inFlight(chunks([...new Set(sortKeys)], BATCH_GET), async (batch) => {
      let request: Key[] | undefined = batch.map((sk) => ({ pk, sk }));
      for (let round = 0; request && request.length > 0; round++) {
        if (round > 0) await this.wait(round);
        const response = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } } }),
        );
        found.push(...(response.Responses?.[this.tableName] ?? []));
        request = response.UnprocessedKeys?.[this.tableName]?.Keys as Key[] | undefined;
      }
    });
    return found;
  }

  async write(puts: Item[], deletes: Key[]): Promise<void> {
    const requests: Item[] = [
      ...puts.map((Item) => ({ PutRequest: { Item } })),
      ...deletes.map((Key) => ({ DeleteRequest: { Key } })),
    ];
    await inFlight(chunks(requests, BATCH_WRITE), async (batch) => {
      let pending: Item[] | undefined = batch;
      for (let round = 0; pending && pending.length > 0; round++) {
        if (round > 0) await this.wait(round);
        const response = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = response.UnprocessedItems?.[this.tableName] as Item[] | undefined;
      }
    });
  }

  /**
   * One page of the items under `prefix`, in key order, from `cursor`. `filter` (a condition on the item's own
   * attributes) is applied after the read, so a page may hold fewer than `limit` items and still have a cursor.
   */
  async query(
    pk: string,
    prefix: string,
    options: { cursor: string | null; limit?: number; filter?: { expression: string; names?: Record<string, string>; values: Item }; keysOnly?: boolean },
  ): Promise<{ items: Item[]; cursor: string | null }> {
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        // An empty prefix is the whole partition (DynamoDB refuses an empty key value).
        KeyConditionExpression: prefix === '' ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ...(prefix === '' ? {} : { ':prefix': prefix }), ...(options.filter?.values ?? {}) },
        ...(options.filter ? { FilterExpression: options.filter.expression } : {}),
        ...(options.filter?.names ? { ExpressionAttributeNames: options.filter.names } : {}),
        ...(options.keysOnly ? { ProjectionExpression: 'pk, sk' } : {}),
        ...(options.limit ? { Limit: options.limit } : {}),
        ...(options.cursor ? { ExclusiveStartKey: { pk, sk: decodeCursor(options.cursor, prefix) } } : {}),
        ConsistentRead: true,
      }),
    );
    return { items: Items, cursor: LastEvaluatedKey ? encodeCursor(String(LastEvaluatedKey.sk)) : null };
  }

  /**
   * Every item under `prefix` in one request when there are at most `max` of them, else null: one read in place of
   * a query per key where the items are known to be few (a batch's lookups under a sparse index).
   */
  async allWithin(pk: string, prefix: string, max: number, options: { keysOnly?: boolean } = {}): Promise<Item[] | null> {
    const page = await this.query(pk, prefix, { cursor: null, limit: max, ...options });
    return page.cursor === null ? page.items : null;
  }

  /** Every item under `prefix`, page by page. */
  async *all(pk: string, prefix: string, options: { keysOnly?: boolean } = {}): AsyncGenerator<Item[]> {
    let cursor: string | null = null;
    do {
      const page = await this.query(pk, prefix, { cursor, ...options });
      yield page.items;
      cursor = page.cursor;
    } while (cursor);
  }

  private async wait(round: number): Promise<void> {
    if (round > MAX_UNPROCESSED_ROUNDS) throw new Error('DynamoDB kept leaving a batch unprocessed (throttled)');
    await backoff(round);
  }
}

/** Runs `work` over the batches, at most IN_FLIGHT at a time; the first failure is thrown once all have settled. */
async function inFlight<T>(batches: T[][], work: (batch: T[]) => Promise<void>): Promise<void> {
  let next = 0;
  const results = await Promise.allSettled(
    Array.from({ length: Math.min(IN_FLIGHT, batches.length) }, async () => {
      while (next < batches.length) await work(batches[next++]!);
    }),
  );
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

function encodeCursor(sk: string): string {
  return Buffer.from(sk, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, prefix: string): string {
  const sk = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!sk.startsWith(prefix)) throw new InvalidCursorError();
  return sk;
}
