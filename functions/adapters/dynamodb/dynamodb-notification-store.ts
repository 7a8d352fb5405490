import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, BatchWriteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { HeldSubscription, NotificationStore, SourceNotifications, SubscriptionOwner } from '../../ports/notification-store.ts';
import { keys } from './table-keys.ts';

const heldSchema = z.object({
  resource: z.enum(['users', 'groups']),
  id: z.string(),
  expirationDateTime: z.string(),
  clientStateHash: z.string(),
});
const sourceItemSchema = z.object({
  subscriptions: z._default(z.array(heldSchema), []),
  jobs: z.optional(z.set(z.string())),
});
const ownerItemSchema = z.object({ tenantId: z.string(), sourceKey: z.string(), clientStateHash: z.string() });

/** BatchGet takes 100 keys a call. */
const BATCH_GET = 100;

/**
 * One item per source directory (`T#<tid>#SRC#<sourceKey>` / `SUBSCRIPTIONS`: the subscriptions and a string set of
 * the jobs), and one owner item per subscription (`SUB#<id>` / `SUB`) that the webhook reads by the notification's
 * subscription id.
 */
export class DynamoDbNotificationStore implements NotificationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async source(tenantId: string, sourceKey: string): Promise<SourceNotifications | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.source(tenantId, sourceKey), sk: keys.sourceSubscriptions }, ConsistentRead: true }),
    );
    if (!Item) return null;
    const item = sourceItemSchema.parse(Item);
    return { tenantId, sourceKey, subscriptions: item.subscriptions, jobs: [...(item.jobs ?? [])].sort() };
  }

  async saveSubscriptions(tenantId: string, sourceKey: string, subscriptions: HeldSubscription[], previous: HeldSubscription[]): Promise<void> {
    // Owners first: a notification for a new subscription can arrive as soon as Graph created it.
    const kept = new Set(subscriptions.map((subscription) => subscription.id));
    const writes = [
      ...subscriptions.map((subscription) => ({
        PutRequest: {
          Item: { pk: keys.subscriptionOwner(subscription.id), sk: 'SUB', tenantId, sourceKey, clientStateHash: subscription.clientStateHash },
        },
      })),
      ...previous.filter((subscription) => !kept.has(subscription.id)).map((subscription) => ({
        DeleteRequest: { Key: { pk: keys.subscriptionOwner(subscription.id), sk: 'SUB' } },
      })),
    ];
    if (writes.length > 0) await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: writes } }));
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.source(tenantId, sourceKey), sk: keys.sourceSubscriptions },
        UpdateExpression: 'SET subscriptions = :subscriptions',
        ExpressionAttributeValues: { ':subscriptions': subscriptions },
      }),
    );
  }

  async addJob(tenantId: string, sourceKey: string, job: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.source(tenantId, sourceKey), sk: keys.sourceSubscriptions },
        UpdateExpression: 'ADD jobs :job',
        ExpressionAttributeValues: { ':job': new Set([job]) },
      }),
    );
  }

  async removeJob(tenantId: string, sourceKey: string, job: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.source(tenantId, sourceKey), sk: keys.sourceSubscriptions },
        UpdateExpression: 'DELETE jobs :job',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':job': new Set([job]) },
      }),
    ).catch((error: unknown) => {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    });
  }

  async owners(subscriptionIds: string[]): Promise<Map<string, SubscriptionOwner>> {
    const owners = new Map<string, SubscriptionOwner>();
    const ids = [...new Set(subscriptionIds)];
    for (let start = 0; start < ids.length; start += BATCH_GET) {
      let request: Record<string, { Keys: Record<string, unknown>[] }> | undefined = {
        [this.tableName]: { Keys: ids.slice(start, start + BATCH_GET).map((id) => ({ pk: keys.subscriptionOwner(id), sk: 'SUB' })) },
      };
      while (request && Object.keys(request).length > 0) {
        const answer = await this.client.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of answer.Responses?.[this.tableName] ?? []) {
          const owner = ownerItemSchema.safeParse(item);
          if (owner.success) owners.set(String(item.pk).slice('SUB#'.length), owner.data);
        }
        request = answer.UnprocessedKeys as typeof request;
      }
    }
    return owners;
  }
}
