import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AssignmentStore } from '../../ports/assignment-store.ts';
import type { Assignments } from '../../ports/directory-source.ts';
import type { LinkScope } from '../../ports/link-store.ts';
import { JobPartition } from './job-partition.ts';

const prefix = (generation: number) => `G${generation}#A#`;
const kinds = { users: 'U', groups: 'G' } as const;

/** Assignments applied, as small items of the job's partition (`G<gen>#A#<U|G>#<principalId>`, `pending`). */
export class DynamoDbAssignmentStore implements AssignmentStore {
  private readonly partition: JobPartition;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.partition = new JobPartition(client, tableName);
  }

  async list(scope: LinkScope): Promise<{ applied: Assignments; pending: Assignments }> {
    const found = { applied: { users: [], groups: [] } as Assignments, pending: { users: [], groups: [] } as Assignments };
    const start = prefix(scope.generation);
    for await (const items of this.partition.all(this.partition.pk(scope.tenantId, scope.jobId), start)) {
      for (const item of items) {
        const [kind, id] = [String(item.sk).slice(start.length, start.length + 1), String(item.sk).slice(start.length + 2)];
        const into = item.pending === true ? found.pending : found.applied;
        (kind === kinds.users ? into.users : into.groups).push(id);
      }
    }
    return found;
  }

  async put(scope: LinkScope, principals: Assignments, pending: boolean): Promise<void> {
    await this.partition.write(this.keysOf(scope, principals).map((key) => ({ ...key, pending })), []);
  }

  async delete(scope: LinkScope, principals: Assignments): Promise<void> {
    await this.partition.write([], this.keysOf(scope, principals));
  }

  private keysOf(scope: LinkScope, principals: Assignments): { pk: string; sk: string }[] {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    return (['users', 'groups'] as const).flatMap((kind) => principals[kind].map((id) => ({ pk, sk: `${prefix(scope.generation)}${kinds[kind]}#${id}` })));
  }
}
