import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { DirectoryObjectType } from '../../ports/directory-source.ts';
import { linkId, type LinkScope, type LinkStore, type ObjectLink, type ObjectRef } from '../../ports/link-store.ts';
import { JobPartition } from './job-partition.ts';

const linkItemSchema = z.object({
  type: z.enum(['User', 'Group']),
  sourceId: z.string(),
  targetId: z.string(),
  exported: z.record(z.string(), z.unknown()),
  source: z._default(z.record(z.string(), z.unknown()), {}),
  seenAt: z._default(z.string(), ''),
  membersUnverified: z.optional(z.boolean()),
  outOfScope: z.optional(z.boolean()),
});

const linkPrefix = (generation: number, type?: DirectoryObjectType) => `G${generation}#L#${type ? `${type}#` : ''}`;
const linkSk = (generation: number, ref: ObjectRef) => `${linkPrefix(generation)}${linkId(ref.type, ref.sourceId)}`;

/**
 * Links live in the job's own partition, one bounded item per object (`G<gen>#L#<type>#<sourceId>`), so a page of
 * objects is one BatchGet and a few BatchWrites, and deleting a job is a Query over one partition.
 */
export class DynamoDbLinkStore implements LinkStore {
  private readonly partition: JobPartition;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.partition = new JobPartition(client, tableName);
  }

  async getMany(scope: LinkScope, ids: ObjectRef[]): Promise<Map<string, ObjectLink>> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const items = await this.partition.getMany(pk, ids.map((id) => linkSk(scope.generation, id)));
    return new Map(items.map((item) => linkItemSchema.parse(item)).map((link) => [linkId(link.type, link.sourceId), link]));
  }

  async putMany(scope: LinkScope, links: ObjectLink[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write(links.map((link) => ({ pk, sk: linkSk(scope.generation, link), ...link })), []);
  }

  async deleteMany(scope: LinkScope, ids: ObjectRef[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write([], ids.map((id) => ({ pk, sk: linkSk(scope.generation, id) })));
  }

  async listUnseen(scope: LinkScope, type: DirectoryObjectType, before: string, cursor: string | null, limit: number) {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const page = await this.partition.query(pk, linkPrefix(scope.generation, type), {
      cursor,
      limit,
      filter: { expression: 'attribute_not_exists(seenAt) OR seenAt < :before', values: { ':before': before } },
    });
    return { items: page.items.map((item) => linkItemSchema.parse(item)), cursor: page.cursor };
  }

  async listUnverifiedGroups(scope: LinkScope, cursor: string | null, limit: number) {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const page = await this.partition.query(pk, linkPrefix(scope.generation, 'Group'), {
      cursor,
      limit,
      filter: { expression: 'membersUnverified = :yes', values: { ':yes': true } },
    });
    return { items: page.items.map((item) => linkItemSchema.parse(item)), cursor: page.cursor };
  }

  async count(scope: LinkScope): Promise<Record<DirectoryObjectType, number>> {
    const counts: Record<DirectoryObjectType, number> = { User: 0, Group: 0 };
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    for (const type of ['User', 'Group'] as const) {
      for await (const items of this.partition.all(pk, linkPrefix(scope.generation, type), { keysOnly: true })) counts[type] += items.length;
    }
    return counts;
  }
}
