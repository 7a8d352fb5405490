import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { LinkScope, Membership, MembershipStore } from '../../ports/link-store.ts';
import { JobPartition, type Item } from './job-partition.ts';

const membershipItemSchema = z.object({
  groupId: z.string(),
  userId: z.string(),
  state: z.enum(['present', 'add', 'remove']),
  seenAt: z.string(),
});

type Pair = { groupId: string; userId: string };

/** Waiting memberships listed at once, in one request, rather than looked up one user at a time (about 40 RRU). */
const WAITING_LISTED = 1000;

const byGroupPrefix = (generation: number, groupId?: string) => `G${generation}#M#${groupId === undefined ? '' : `${groupId}#`}`;
const byGroupSk = (generation: number, pair: Pair) => `${byGroupPrefix(generation, pair.groupId)}${pair.userId}`;
const byUserPrefix = (generation: number, userId: string) => `G${generation}#U#${userId}#`;
const byUserSk = (generation: number, pair: Pair) => `${byUserPrefix(generation, pair.userId)}${pair.groupId}`;

/**
 * One item per membership under its group (`G<gen>#M#<group>#<user>`, with its state) and, while it waits for its
 * user (`add`), a key-only twin under the user (`G<gen>#U#<user>#<group>`). No item grows with the group, a group of
 * a million members is a million small items read a page at a time, and memberships in the target cost one item.
 */
export class DynamoDbMembershipStore implements MembershipStore {
  private readonly partition: JobPartition;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.partition = new JobPartition(client, tableName);
  }

  async getMany(scope: LinkScope, pairs: Pair[]): Promise<Membership[]> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const items = await this.partition.getMany(pk, pairs.map((pair) => byGroupSk(scope.generation, pair)));
    return items.map(parse);
  }

  async putMany(scope: LinkScope, memberships: Membership[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const items: Item[] = memberships.flatMap((membership) => [
      { pk, sk: byGroupSk(scope.generation, membership), ...membership },
      ...(membership.state === 'add' ? [{ pk, sk: byUserSk(scope.generation, membership) }] : []),
    ]);
    await this.partition.write(items, []);
  }

  async deleteMany(scope: LinkScope, pairs: Pair[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write([], pairs.map((pair) => ({ pk, sk: byGroupSk(scope.generation, pair) })));
  }

  async unindex(scope: LinkScope, pairs: Pair[]): Promise<void> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    await this.partition.write([], pairs.map((pair) => ({ pk, sk: byUserSk(scope.generation, pair) })));
  }

  async listByGroup(scope: LinkScope, groupId: string, cursor: string | null, limit: number, pendingOnly = false) {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const page = await this.partition.query(pk, byGroupPrefix(scope.generation, groupId), {
      cursor,
      limit,
      ...(pendingOnly ? { filter: { expression: '#state <> :present', names: { '#state': 'state' }, values: { ':present': 'present' } } } : {}),
    });
    return { items: page.items.map(parse), cursor: page.cursor };
  }

  async waitingGroupsOf(scope: LinkScope, userId: string): Promise<string[]> {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const prefix = byUserPrefix(scope.generation, userId);
    const groups: string[] = [];
    for await (const items of this.partition.all(pk, prefix, { keysOnly: true })) {
      groups.push(...items.map((item) => String(item.sk).slice(prefix.length)));
    }
    return groups;
  }

  async waitingGroupsOfMany(scope: LinkScope, userIds: string[]): Promise<Map<string, string[]>> {
    const wanted = new Set(userIds);
    const found = new Map<string, string[]>();
    if (wanted.size === 0) return found;
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const prefix = `G${scope.generation}#U#`;
    const all = await this.partition.allWithin(pk, prefix, WAITING_LISTED, { keysOnly: true });
    if (all === null) {
      for (const userId of wanted) {
        const groups = await this.waitingGroupsOf(scope, userId);
        if (groups.length > 0) found.set(userId, groups);
      }
      return found;
    }
    for (const item of all) {
      // `<user>#<group>`: both are directory ids, which hold no `#`.
      const [userId, groupId] = String(item.sk).slice(prefix.length).split('#') as [string, string];
      if (wanted.has(userId)) found.set(userId, [...(found.get(userId) ?? []), groupId]);
    }
    return found;
  }

  async listUnseen(scope: LinkScope, before: string, cursor: string | null, limit: number) {
    const pk = this.partition.pk(scope.tenantId, scope.jobId);
    const page = await this.partition.query(pk, byGroupPrefix(scope.generation), {
      cursor,
      limit,
      filter: { expression: 'seenAt < :before', values: { ':before': before } },
    });
    return { items: page.items.map(parse), cursor: page.cursor };
  }
}

function parse(item: Item): Membership {
  const { groupId, userId, state, seenAt } = membershipItemSchema.parse(item);
  return { groupId, userId, state, seenAt };
}
