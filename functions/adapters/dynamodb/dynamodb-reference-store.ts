import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { LinkScope } from '../../ports/link-store.ts';
import type { Reference, ReferenceStore } from '../../ports/reference-store.ts';
import { JobPartition } from './job-partition.ts';

const referenceItemSchema = z.object({ referencedId: z.string(), holderId: z.string(), waiting: z.boolean() });

/** A job with this many references or fewer has them listed at once, rather than one named user at a time. */
const LISTED = 250;

const prefix = (generation: number, referencedId: string) => `G${generation}#R#${referencedId}#`;

/** References as small items of the job's partition (`G<gen>#R#<referencedId>#<holderId>`), listed by the user named. */
export class DynamoDbReferenceStore implements ReferenceStore {
  private readonly partition: JobPartition;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.partition = new JobPartition(client, tableName);
  }

  async holdersOf(scope: LinkScope, referencedId: string): Promise<Reference[]> {
    const found: Reference[] = [];
    for await (const items of this.partition.all(this.partition.pk(scope.tenantId, scope.jobId), prefix(scope.generation, referencedId))) {
      found.push(...items.map((item) => referenceItemSchema.parse(item)));
    }
    return found;
  }

  async holdersOfMany(scope: LinkScope, referencedIds: string[]): Promise<Map<string, Reference[]>> {
    const wanted = new Set(referencedIds);
    const found = new Map<string, Reference[]>();
    if (wanted.size === 0) return found;
    const all = await this.partition.allWithin(this.partition.pk(scope.tenantId, scope.jobId), `G${scope.generation}#R#`, LISTED);
    if (all === null) {
      for (const referencedId of wanted) {
        const holders = await this.holdersOf(scope, referencedId);
        if (holders.length > 0) found.set(referencedId, holders);
      }
      return found;
    }
    for (const reference of all.map((item) => referenceItemSchema.parse(item))) {
      if (wanted.has(reference.referencedId)) found.set(reference.referencedId, [...(found.get(reference.referencedId) ?? []), reference]);
    }
    return found;
  }

  async putMany(scope: LinkScope, references: Reference[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write(references.map((reference) => ({ pk, sk: `${prefix(scope.generation, reference.referencedId)}${reference.holderId}`, ...reference })), []);
  }

  async deleteMany(scope: LinkScope, references: Omit<Reference, 'waiting'>[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write([], references.map((reference) => ({ pk, sk: `${prefix(scope.generation, reference.referencedId)}${reference.holderId}` })));
  }
}
