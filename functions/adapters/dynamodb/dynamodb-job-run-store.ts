import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { JobRunStore, RunCommit } from '../../ports/job-run-store.ts';
import type { SynchronizationStatus } from '../../schemas/graph.ts';
import { storedJobSchema, type JobKey, type StoredJob } from '../../schemas/stored-job.ts';
import { isConditionFailure, keys } from './table-keys.ts';

function itemKey(key: JobKey) {
  return { pk: keys.servicePrincipal(key.tenantId, key.servicePrincipalId), sk: keys.job(key.jobId) };
}

/** UpdateItem on nested paths: the worker writes only run and status fields, never the API's. */
export class DynamoDbJobRunStore implements JobRunStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async acquireLease(job: StoredJob, owner: string, leaseUntil: string, now: string): Promise<StoredJob | null> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey({ tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id }),
          UpdateExpression:
            'SET #run.leaseOwner = :owner, #run.leaseUntil = :until, #run.rerunRequested = :false, #version = #version + :one',
          ConditionExpression: '#version = :version AND (attribute_type(#run.leaseOwner, :null) OR #run.leaseUntil < :now)',
          ExpressionAttributeNames: { '#run': 'run', '#version': 'version' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': leaseUntil,
            ':now': now,
            ':version': job.version,
            ':one': 1,
            ':false': false,
            ':null': 'NULL',
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return storedJobSchema.parse(Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async commit(key: JobKey, owner: string, epoch: number, commit: RunCommit): Promise<StoredJob | null> {
    // DynamoDB refuses names an expression does not use, so #status is added only with a status field.
    const names: Record<string, string> = { '#run': 'run', '#version': 'version' };
    const values: Record<string, unknown> = { ':owner': owner, ':epoch': epoch, ':one': 1 };
    const sets = ['#version = #version + :one'];
    const add = (parent: '#run' | '#status', field: string, value: unknown) => {
      const name = `#f${sets.length}`;
      const placeholder = `:v${sets.length}`;
      names[name] = field;
      if (parent === '#status') names['#status'] = 'status';
      values[placeholder] = value;
      sets.push(`${parent}.${name} = ${placeholder}`);
    };
    const run = commit.release ? { ...commit.run, leaseOwner: null, leaseUntil: null } : commit.run;
    for (const [field, value] of Object.entries(run)) if (value !== undefined) add('#run', field, value);
    for (const [field, value] of Object.entries(commit.status ?? {})) if (value !== undefined) add('#status', field, value);
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey(key),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#run.leaseOwner = :owner AND #run.epoch = :epoch',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return storedJobSchema.parse(Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async recordIdleRound(
    job: StoredJob,
    watermark: string,
    status: Partial<Omit<SynchronizationStatus, 'code'>>,
    now: string,
  ): Promise<StoredJob | null> {
    const names: Record<string, string> = { '#run': 'run', '#status': 'status', '#version': 'version', '#watermark': 'watermark' };
    const values: Record<string, unknown> = { ':version': job.version, ':one': 1, ':now': now, ':null': 'NULL', ':watermark': watermark };
    const sets = ['#version = #version + :one', '#run.#watermark = :watermark'];
    Object.entries(status).forEach(([field, value], index) => {
      names[`#s${index}`] = field;
      values[`:s${index}`] = value;
      sets.push(`#status.#s${index} = :s${index}`);
    });
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: itemKey({ tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id }),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#version = :version AND (attribute_type(#run.leaseOwner, :null) OR #run.leaseUntil < :now)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return storedJobSchema.parse(Attributes);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }
}
