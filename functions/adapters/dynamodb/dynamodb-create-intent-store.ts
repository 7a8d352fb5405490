import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { CreateIntent, CreateIntentStore } from '../../ports/create-intents.ts';
import { linkId, type LinkScope, type ObjectRef } from '../../ports/link-store.ts';
import { JobPartition } from './job-partition.ts';

const intentItemSchema = z.object({
  type: z.enum(['User', 'Group']),
  sourceId: z.string(),
  resourceType: z.enum(['Users', 'Groups']),
  matches: z.array(z.object({ attribute: z.string(), value: z.string() })),
});

const intentPrefix = (generation: number) => `G${generation}#I#`;
const intentSk = (generation: number, ref: ObjectRef) => `${intentPrefix(generation)}${linkId(ref.type, ref.sourceId)}`;

/** Create intents as small items of the job's partition (`G<gen>#I#<type>#<id>`), gone once the link is saved. */
export class DynamoDbCreateIntentStore implements CreateIntentStore {
  private readonly partition: JobPartition;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.partition = new JobPartition(client, tableName);
  }

  async putMany(scope: LinkScope, intents: CreateIntent[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write(intents.map((intent) => ({ pk, sk: intentSk(scope.generation, intent), ...intent })), []);
  }

  async deleteMany(scope: LinkScope, refs: ObjectRef[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write([], refs.map((ref) => ({ pk, sk: intentSk(scope.generation, ref) })));
  }

  async list(scope: LinkScope, cursor: string | null, limit: number) {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const page = await this.partition.query(pk, intentPrefix(scope.generation), { cursor, limit });
    return { items: page.items.map((item) => intentItemSchema.parse(item)), cursor: page.cursor };
  }
}
