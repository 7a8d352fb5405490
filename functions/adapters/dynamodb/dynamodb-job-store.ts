import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidCursorError, JobVersionConflictError, type JobPage, type JobStore } from '../../ports/job-store.ts';
import { storedJobSchema, type JobKey, type StoredJob } from '../../schemas/stored-job.ts';
import { isConditionFailure, keys } from './table-keys.ts';

function itemKey(key: JobKey) {
  return { pk: keys.servicePrincipal(key.tenantId, key.servicePrincipalId), sk: keys.job(key.jobId) };
}

function keyOf(job: StoredJob): JobKey {
  return { tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id };
}

function fromItem(item: Record<string, unknown>): StoredJob {
  return storedJobSchema.parse(item);
}

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
          Item: { ...itemKey(keyOf(job)), ...job },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new JobVersionConflictError(keyOf(job));
      throw error;
    }
  }

  async get(key: JobKey, options: { consistent?: boolean } = {}): Promise<StoredJob | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: itemKey(key), ConsistentRead: options.consistent ?? true }),
    );
    return Item ? fromItem(Item) : null;
  }

  async list(tenantId: string, servicePrincipalId: string, limit: number, cursor: string | null): Promise<JobPage> {
    const startSk = cursor ? decodeCursor(cursor) : null;
    const pk = keys.servicePrincipal(tenantId, servicePrincipalId);
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :job)',
        ExpressionAttributeValues: { ':pk': pk, ':job': 'JOB#' },
        Limit: limit,
        ExclusiveStartKey: startSk ? { pk, sk: startSk } : undefined,
      }),
    );
    return { jobs: Items.map(fromItem), cursor: LastEvaluatedKey ? encodeCursor(LastEvaluatedKey) : null };
  }

  async replace(job: StoredJob): Promise<StoredJob> {
    const next = { ...job, version: job.version + 1 };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...itemKey(keyOf(job)), ...next },
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
