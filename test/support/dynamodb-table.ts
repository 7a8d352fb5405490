import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { startLocalDynamoDb } from '../../local/local-dynamodb.ts';

/**
 * A dynalite table for one test file, with a document client marshalled as the adapters' is; started before the
 * file's tests and closed after them. Read `client` inside tests (it is set by then).
 */
export function dynamoDbTableForTests(tableName: string): { readonly client: DynamoDBDocumentClient } {
  let db: Awaited<ReturnType<typeof startLocalDynamoDb>> | undefined;
  const table = { client: undefined as unknown as DynamoDBDocumentClient };
  beforeAll(async () => {
    db = await startLocalDynamoDb({ host: '127.0.0.1', port: 0, tableName });
    table.client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: db.endpoint }), { marshallOptions: { removeUndefinedValues: true } });
  });
  afterAll(async () => {
    table.client?.destroy();
    await db?.close();
  });
  return table;
}
