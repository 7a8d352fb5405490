import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { synchronizationSchemaSchema, type SynchronizationSchema } from '../../domain/mapping/schema.ts';
import type { SchemaStore } from '../../ports/schema-store.ts';
import type { JobKey } from '../../schemas/stored-job.ts';
import { keys } from './table-keys.ts';

const prefix = keys.schemaPrefix;
const sk = (jobId: string, version: number) => `${prefix(jobId)}${String(version).padStart(10, '0')}`;

/** Schemas as JSON text (tens of KB) in the service principal's partition, beside the job. */
export class DynamoDbSchemaStore implements SchemaStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(key: JobKey, version: number): Promise<SynchronizationSchema | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: keys.servicePrincipal(key.tenantId, key.servicePrincipalId), sk: sk(key.jobId, version) },
      }),
    );
    return Item ? synchronizationSchemaSchema.parse(JSON.parse(String(Item.schema))) : null;
  }

  async put(key: JobKey, version: number, schema: SynchronizationSchema): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: keys.servicePrincipal(key.tenantId, key.servicePrincipalId), sk: sk(key.jobId, version), schema: JSON.stringify(schema) },
      }),
    );
  }

  async removeOthers(key: JobKey, keep: number | null): Promise<void> {
    const pk = keys.servicePrincipal(key.tenantId, key.servicePrincipalId);
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix(key.jobId) },
        ProjectionExpression: 'sk',
      }),
    );
    const stale = Items.map((item) => String(item.sk)).filter((itemSk) => keep === null || itemSk !== sk(key.jobId, keep));
    for (let i = 0; i < stale.length; i += 25) {
      await this.client.send(
        new BatchWriteCommand({
          RequestItems: { [this.tableName]: stale.slice(i, i + 25).map((itemSk) => ({ DeleteRequest: { Key: { pk, sk: itemSk } } })) },
        }),
      );
    }
  }
}
