import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidCursorError, JobVersionConflictError, type JobPage, type JobStore } from '../../ports/job-store.ts';
import { withIdleRounds } from '../../domain/idle-rounds.ts';
import { idleRoundsSchema, type JobKey, type StoredJob } from '../../schemas/stored-job.ts';
import { jobFromItem, jobIdOf, jobItem } from './job-item.ts';
import { isConditionFailure, keys } from './table-keys.ts';

function itemKey(key: JobKey) {
  return { pk: keys.servicePrincipal(key.tenantId, key.servicePrincipalId), sk: keys.job(key.jobId) };
}

function keyOf(job: StoredJob): JobKey {
  return { tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id };
}

type Item = Record<string, unknown>;

/** The job item with its idle rounds item (when it has one) read over it. */
function fromItems(job: Item, idle: Item | undefined): StoredJob {
  return withIdleRounds(jobFromItem(job), idle ? idleRoundsSchema.parse(idle) : null);
}

const isIdleRounds = (item: Item) => String(item.sk).endsWith('#IDLE');

function encodeCursor(lastKey: Record<string, unknown>): string {
  return Buffer.from(String(lastKey.sk), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const sk = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^JOB#[\x21-\x7e]{1,300}$/.test(sk)) throw new InvalidCursorError();
  return sk;
}

/** Jobs as items of their service principal's partition, guarded by a version attribute. */
export class DynamoDbJobStore implements JobStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(job: StoredJob): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: jobItem(job),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new JobVersionConflictError(keyOf(job));
      throw error;
    }
  }

  /**
   * One Query of the job item and the idle rounds item beside it: billed on their sizes summed and rounded up to
   * 4 KB once (two GetItems would round each up on its own). No other job's item sorts between the two keys: job
   * ids have no character below `#`.
   */
  async get(key: JobKey, options: { consistent?: boolean } = {}): Promise<StoredJob | null> {
    const { pk, sk } = itemKey(key);
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :job AND :idle',
        ExpressionAttributeValues: { ':pk': pk, ':job': sk, ':idle': keys.idleRounds(key.jobId) },
        ConsistentRead: options.consistent ?? true,
      }),
    );
    const job = Items.find((item) => item.sk === sk);
    return job ? fromItems(job, Items.find(isIdleRounds)) : null;
  }

  /**
   * A job's idle rounds item sorts right after it, so a page is read with room for both of each job. The cursor
   * is the last job's idle rounds key (it need not exist): the next page starts with the job after it. An idle
   * rounds item that a page boundary separated from its job is read on its own.
   */
  async list(tenantId: string, servicePrincipalId: string, limit: number, cursor: string | null): Promise<JobPage> {
    const startSk = cursor ? decodeCursor(cursor) : null;
    const pk = keys.servicePrincipal(tenantId, servicePrincipalId);
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :job)',
        ExpressionAttributeValues: { ':pk': pk, ':job': 'JOB#' },
        Limit: 2 * limit,
        ExclusiveStartKey: startSk ? { pk, sk: startSk } : undefined,
      }),
    );
    const pairs: { job: Item; idle?: Item }[] = [];
    for (const item of Items) {
      const last = pairs.at(-1);
      if (!isIdleRounds(item)) pairs.push({ job: item });
      // One whose job was on the previous page (or is deleted) is skipped.
      else if (last && item.sk === keys.idleRounds(jobIdOf(last.job))) last.idle = item;
    }
    const page = pairs.slice(0, limit);
    const lastPair = page.at(-1);
    if (lastPair && !lastPair.idle && LastEvaluatedKey && lastPair === pairs.at(-1) && Items.at(-1) === lastPair.job) {
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.tableName, Key: { pk, sk: keys.idleRounds(jobIdOf(lastPair.job)) } }),
      );
      if (Item) lastPair.idle = Item;
    }
    const more = pairs.length > limit || LastEvaluatedKey !== undefined;
    return {
      jobs: page.map((pair) => fromItems(pair.job, pair.idle)),
      cursor: more && lastPair ? encodeCursor({ sk: keys.idleRounds(jobIdOf(lastPair.job)) }) : null,
    };
  }

  async replace(job: StoredJob): Promise<StoredJob> {
    const next = { ...job, version: job.version + 1 };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: jobItem(next),
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':expected': job.version },
        }),
      );
      return next;
    } catch (error) {
      if (isConditionFailure(error)) throw new JobVersionConflictError(keyOf(job));
      throw error;
    }
  }

  async delete(key: JobKey, version: number): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: itemKey(key),
          ConditionExpression: 'version = :expected',
          ExpressionAttributeValues: { ':expected': version },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new JobVersionConflictError(key);
      throw error;
    }
  }
}
