import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchGetCommand, BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { linkId, type LinkScope, type LinkStore, type ObjectLink } from '../../ports/link-store.ts';
import type { DirectoryObjectType } from '../../ports/directory-source.ts';
import type { JobStateCleaner } from '../../ports/job-state-cleaner.ts';
import type { EscrowScope, EscrowStore } from '../../ports/escrow-store.ts';
import type { DirectoryObject } from '../../ports/directory-source.ts';
import type { JobKey } from '../../schemas/stored-job.ts';
import { keys } from './table-keys.ts';

const linkItemSchema = z.object({
  type: z.enum(['User', 'Group']),
  sourceId: z.string(),
  targetId: z.string(),
  exported: z.record(z.string(), z.unknown()),
  members: z.array(z.string()).optional(),
  roundId: z.string().optional(),
  roundMembers: z.array(z.string()).optional(),
});

const escrowItemSchema = z.object({
  object: z.object({
    type: z.enum(['User', 'Group']),
    id: z.string(),
    attributes: z.record(z.string(), z.unknown()),
    membersAdded: z.array(z.string()),
    membersRemoved: z.array(z.string()),
    removed: z.enum(['changed', 'deleted']).nullable(),
  }),
  error: z.string(),
});

const BATCH_GET = 100;
const BATCH_WRITE = 25;

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

const linkSk = (generation: number, type: DirectoryObjectType, sourceId: string) =>
  `G${generation}#L#${linkId(type, sourceId)}`;
const escrowSk = (generation: number, object: DirectoryObject) => `E${generation}#${linkId(object.type, object.id)}`;

/**
 * Links live in the job's own partition, one item per object, so a page of objects is one BatchGet and a few
 * BatchWrites, and deleting a job is a Query over one partition.
 */
export class DynamoDbLinkStore implements LinkStore, EscrowStore, JobStateCleaner {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async getMany(scope: LinkScope, ids: { type: DirectoryObjectType; sourceId: string }[]) {
    const pk = keys.jobObjects(scope.tenantId, scope.jobId);
    const found = new Map<string, ObjectLink>();
    const unique = [...new Map(ids.map((id) => [linkId(id.type, id.sourceId), id])).values()];
    for (const batch of chunks(unique, BATCH_GET)) {
      let request: Record<string, unknown>[] | undefined = batch.map((id) => ({
        pk,
        sk: linkSk(scope.generation, id.type, id.sourceId),
      }));
      while (request && request.length > 0) {
        const response = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } } }),
        );
        for (const item of response.Responses?.[this.tableName] ?? []) {
          const link = linkItemSchema.parse(item);
          found.set(linkId(link.type, link.sourceId), link);
        }
        request = response.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return found;
  }

  private async batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    for (const batch of chunks(requests, BATCH_WRITE)) {
      let pending: Record<string, unknown>[] | undefined = batch;
      while (pending && pending.length > 0) {
        const response = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
        pending = response.UnprocessedItems?.[this.tableName] as Record<string, unknown>[] | undefined;
      }
    }
  }

  async putMany(scope: LinkScope, links: ObjectLink[]): Promise<void> {
    const pk = keys.jobObjects(scope.tenantId, scope.jobId);
    await this.batchWrite(
      links.map((link) => ({
        PutRequest: { Item: { pk, sk: linkSk(scope.generation, link.type, link.sourceId), ...link } },
      })),
    );
  }

  async deleteMany(scope: LinkScope, ids: { type: DirectoryObjectType; sourceId: string }[]): Promise<void> {
    const pk = keys.jobObjects(scope.tenantId, scope.jobId);
    await this.batchWrite(
      ids.map((id) => ({ DeleteRequest: { Key: { pk, sk: linkSk(scope.generation, id.type, id.sourceId) } } })),
    );
  }

  /** Every page of a Query over the job's partition, optionally within an sk prefix. */
  private async *pages(pk: string, prefix: string | null, options: { count?: boolean; keysOnly?: boolean } = {}) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: prefix === null ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ...(prefix === null ? {} : { ':prefix': prefix }) },
          ...(options.count ? { Select: 'COUNT' as const } : {}),
          ...(options.keysOnly ? { ProjectionExpression: 'pk, sk' } : {}),
          ExclusiveStartKey: startKey,
        }),
      );
      yield page;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async listGroups(scope: LinkScope): Promise<ObjectLink[]> {
    const groups: ObjectLink[] = [];
    const pk = keys.jobObjects(scope.tenantId, scope.jobId);
    for await (const page of this.pages(pk, `G${scope.generation}#L#Group#`)) {
      groups.push(...(page.Items ?? []).map((item) => linkItemSchema.parse(item)));
    }
    return groups;
  }

  async count(scope: LinkScope): Promise<Record<DirectoryObjectType, number>> {
    const counts: Record<DirectoryObjectType, number> = { User: 0, Group: 0 };
    const pk = keys.jobObjects(scope.tenantId, scope.jobId);
    for (const type of ['User', 'Group'] as const) {
      for await (const page of this.pages(pk, `G${scope.generation}#L#${type}#`, { count: true })) counts[type] += page.Count ?? 0;
    }
    return counts;
  }

  async putEscrows(scope: EscrowScope, entries: { object: DirectoryObject; error: string }[]): Promise<void> {
    const pk = keys.jobObjects(scope.tenantId, scope.jobId);
    await this.batchWrite(
      entries.map((entry) => ({
        PutRequest: { Item: { pk, sk: escrowSk(scope.generation, entry.object), object: entry.object, error: entry.error } },
      })),
    );
  }

  async listEscrows(scope: EscrowScope, limit: number) {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.jobObjects(scope.tenantId, scope.jobId), ':prefix': `E${scope.generation}#` },
        Limit: limit,
      }),
    );
    return Items.map((item) => escrowItemSchema.parse(item));
  }

  async deleteEscrows(scope: EscrowScope, objects: DirectoryObject[]): Promise<void> {
    const pk = keys.jobObjects(scope.tenantId, scope.jobId);
    await this.batchWrite(objects.map((object) => ({ DeleteRequest: { Key: { pk, sk: escrowSk(scope.generation, object) } } })));
  }

  /** Deletes every item in the job's partition (links of all generations, escrows). */
  async purge(key: JobKey): Promise<void> {
    for await (const page of this.pages(keys.jobObjects(key.tenantId, key.jobId), null, { keysOnly: true })) {
      await this.batchWrite((page.Items ?? []).map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })));
    }
  }
}
