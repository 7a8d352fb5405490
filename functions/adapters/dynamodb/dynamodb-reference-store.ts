import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { LinkScope } from '../../ports/link-store.ts';
import type { Reference, ReferenceStore } from '../../ports/reference-store.ts';
import { JobPartition } from './job-partition.ts';

const referenceItemSchema = z.object({ referencedId: z.string(), holderId: z.string(), waiting: z.boolean() });

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

  async putMany(scope: LinkScope, references: Reference[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write(references.map((reference) => ({ pk, sk: `${prefix(scope.generation, reference.referencedId)}${reference.holderId}`, ...reference })), []);
  }

  async deleteMany(scope: LinkScope, references: Omit<Reference, 'waiting'>[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write([], references.map((reference) => ({ pk, sk: `${prefix(scope.generation, reference.referencedId)}${reference.holderId}` })));
  }
}
