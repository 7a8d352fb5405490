import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbJobRunStore } from '../functions/adapters/dynamodb/dynamodb-job-run-store.ts';
import { jobKeyOf } from '../functions/adapters/dynamodb/job-item.ts';
import { keys } from '../functions/adapters/dynamodb/table-keys.ts';

/**
 * Frees every job lease in the local table, before the stack runs anything. The local stack runs each worker
 * invocation in its own process, and dynalite holds the data folder's lock, so a lease found at start belongs to
 * a run that died with the previous process (`kill -9`, a crash, a power cut). Deployed, such a lease expires
 * (up to 3.5 minutes after the run's last page); here the job resumes at once. Returns how many were freed.
 */
export async function releaseAbandonedLeases(options: { endpoint: string; tableName: string }): Promise<number> {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: options.endpoint }));
  const runs = new DynamoDbJobRunStore(client, options.tableName);
  let released = 0;
  try {
    let startKey: Record<string, unknown> | undefined;
    do {
      // A local table is small: one pass over it at start, reading only the job items' keys and lease owners.
      const page = await client.send(
        new ScanCommand({
          TableName: options.tableName,
          FilterExpression: 'begins_with(sk, :job) AND attribute_type(#run.leaseOwner, :string)',
          ProjectionExpression: 'pk, sk, #run.leaseOwner',
          ExpressionAttributeNames: { '#run': 'run' },
          ExpressionAttributeValues: { ':job': keys.job(''), ':string': 'S' },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        if (await runs.releaseLease(jobKeyOf(item), item.run.leaseOwner as string)) released += 1;
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } finally {
    client.destroy();
  }
  return released;
}
