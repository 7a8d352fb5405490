import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbEscrowStore } from '../../functions/adapters/dynamodb/dynamodb-escrow-store.ts';
import { DynamoDbMembershipStore } from '../../functions/adapters/dynamodb/dynamodb-membership-store.ts';
import type { Membership } from '../../functions/ports/link-store.ts';
import { dynamoDbTableForTests } from '../support/dynamodb-table.ts';

const TABLE = 'memberships';
const table = dynamoDbTableForTests(TABLE);

describe('DynamoDbMembershipStore', () => {
  it('keeps a group of 20,000 members in items of bounded size, readable by group and by user', async () => {
    const store = new DynamoDbMembershipStore(table.client, TABLE);
    const scope = { tenantId: randomUUID(), jobId: 'job', generation: 3 };
    const groupId = randomUUID();
    const members: Membership[] = Array.from({ length: 20_000 }, (_, i) => ({ groupId, userId: randomUUID(), state: i % 10 === 0 ? 'add' : 'present', seenAt: i < 100 ? '2026-01-01T00:00:00Z' : '2026-02-01T00:00:00Z' }));
    await store.putMany(scope, members);

    // No item grows with the group: the largest is a few hundred bytes.
    const { Items = [] } = await table.client.send(new QueryCommand({ TableName: TABLE, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `T#${scope.tenantId}#JOB#job` }, Limit: 50 }));
    expect(Math.max(...Items.map((item) => JSON.stringify(item).length))).toBeLessThan(400);

    let listed = 0;
    let pending = 0;
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await store.listByGroup(scope, groupId, cursor, 1000);
      listed += page.items.length;
      cursor = page.cursor;
    }
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await store.listByGroup(scope, groupId, cursor, 1000, true);
      pending += page.items.length;
      cursor = page.cursor;
    }
    expect(listed).toBe(20_000);
    expect(pending).toBe(2_000);
    // Only a membership that waits for its user is found by user.
    expect(await store.waitingGroupsOf(scope, members[10]!.userId)).toEqual([groupId]);
    expect(await store.waitingGroupsOf(scope, members[5]!.userId)).toEqual([]);
    // Many at once: 2,000 wait, more than one listing takes, so each user is looked up.
    const many = await store.waitingGroupsOfMany(scope, [members[10]!.userId, members[5]!.userId, members[20]!.userId]);
    expect(many).toEqual(new Map([[members[10]!.userId, [groupId]], [members[20]!.userId, [groupId]]]));
    const unseen: Membership[] = [];
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await store.listUnseen(scope, '2026-01-15T00:00:00Z', cursor, 500);
      unseen.push(...page.items);
      cursor = page.cursor;
    }
    expect(unseen.map((m) => m.userId).sort()).toEqual(members.slice(0, 100).map((m) => m.userId).sort());

    await store.deleteMany(scope, members.slice(0, 11));
    await store.unindex(scope, [members[10]!]);
    expect(await store.getMany(scope, members.slice(0, 12))).toHaveLength(1);
    expect(await store.waitingGroupsOf(scope, members[10]!.userId)).toEqual([]);
    // Another generation sees none of it.
    expect(await store.getMany({ ...scope, generation: 4 }, members.slice(10, 20))).toEqual([]);
  }, 120_000);

  it('finds the groups waiting for many users in one listing when few memberships wait', async () => {
    const store = new DynamoDbMembershipStore(table.client, TABLE);
    const scope = { tenantId: randomUUID(), jobId: 'job', generation: 1 };
    const [a, b, c, g1, g2] = Array.from({ length: 5 }, () => randomUUID()) as [string, string, string, string, string];
    const at = '2026-01-01T00:00:00Z';
    await store.putMany(scope, [
      { groupId: g1, userId: a, state: 'add', seenAt: at },
      { groupId: g2, userId: a, state: 'add', seenAt: at },
      { groupId: g1, userId: b, state: 'add', seenAt: at },
      { groupId: g2, userId: c, state: 'present', seenAt: at },
    ]);
    // Another generation's waiting membership is not this one's.
    await store.putMany({ ...scope, generation: 2 }, [{ groupId: g2, userId: b, state: 'add', seenAt: at }]);
    const found = await store.waitingGroupsOfMany(scope, [a, b, c]);
    expect(new Map([...found].map(([userId, groups]) => [userId, [...groups].sort()]))).toEqual(
      new Map([[a, [g1, g2].sort()], [b, [g1]]]),
    );
    expect(await store.waitingGroupsOfMany(scope, [])).toEqual(new Map());
  });

  it('refuses a cursor it did not issue for that listing', async () => {
    const store = new DynamoDbMembershipStore(table.client, TABLE);
    const scope = { tenantId: randomUUID(), jobId: 'job', generation: 0 };
    const forged = Buffer.from('G0#L#User#x').toString('base64url');
    await expect(store.listByGroup(scope, 'g', forged, 10)).rejects.toThrow(/cursor/);
  });
});

describe('DynamoDbEscrowStore', () => {
  it('lists every escrow page by page, so a retry pass reaches all of them', async () => {
    const store = new DynamoDbEscrowStore(table.client, TABLE);
    const scope = { tenantId: randomUUID(), jobId: 'job', generation: 1 };
    const escrows = Array.from({ length: 250 }, (_, i) => ({ type: 'User' as const, sourceId: `u${String(i).padStart(3, '0')}`, error: 'refused', attempts: 1, firstFailedAt: 't', nextAttemptAt: 't' }));
    await store.putMany(scope, escrows);
    const seen: string[] = [];
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await store.list(scope, cursor, 100);
      seen.push(...page.items.map((escrow) => escrow.sourceId));
      cursor = page.cursor;
    }
    expect(seen).toEqual(escrows.map((escrow) => escrow.sourceId));
    expect(await store.getMany(scope, [{ type: 'User', sourceId: 'u007' }, { type: 'Group', sourceId: 'u007' }])).toHaveLength(1);
  });
});
