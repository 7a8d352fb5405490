import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { Escrow, EscrowStore } from '../../ports/escrow-store.ts';
import { linkId, type LinkScope, type ObjectRef } from '../../ports/link-store.ts';
import { JobPartition } from './job-partition.ts';

const escrowItemSchema = z.object({
  type: z.enum(['User', 'Group']),
  sourceId: z.string(),
  error: z.string(),
  attempts: z.int().check(z.gte(1)),
  firstFailedAt: z.string(),
  nextAttemptAt: z.string(),
});

const escrowPrefix = (generation: number) => `E${generation}#`;
const escrowSk = (generation: number, ref: ObjectRef) => `${escrowPrefix(generation)}${linkId(ref.type, ref.sourceId)}`;

/** Escrows as small items of the job's partition (`E<gen>#<type>#<id>`): a key, the error and the retry clock. */
export class DynamoDbEscrowStore implements EscrowStore {
  private readonly partition: JobPartition;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.partition = new JobPartition(client, tableName);
  }

  async getMany(scope: LinkScope, refs: ObjectRef[]): Promise<Escrow[]> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const items = await this.partition.getMany(pk, refs.map((ref) => escrowSk(scope.generation, ref)));
    return items.map((item) => escrowItemSchema.parse(item));
  }

  async putMany(scope: LinkScope, escrows: Escrow[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write(escrows.map((escrow) => ({ pk, sk: escrowSk(scope.generation, escrow), ...escrow })), []);
  }

  async deleteMany(scope: LinkScope, refs: ObjectRef[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write([], refs.map((ref) => ({ pk, sk: escrowSk(scope.generation, ref) })));
  }

  async list(scope: LinkScope, cursor: string | null, limit: number) {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const page = await this.partition.query(pk, escrowPrefix(scope.generation), { cursor, limit });
    return { items: page.items.map((item) => escrowItemSchema.parse(item)), cursor: page.cursor };
  }
}
