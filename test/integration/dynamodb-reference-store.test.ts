import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DynamoDbReferenceStore } from '../../functions/adapters/dynamodb/dynamodb-reference-store.ts';
import type { Reference } from '../../functions/ports/reference-store.ts';
import { dynamoDbTableForTests } from '../support/dynamodb-table.ts';

const TABLE = 'references';
const table = dynamoDbTableForTests(TABLE);
const byHolder = (references: Reference[] | undefined) => [...(references ?? [])].sort((x, y) => x.holderId.localeCompare(y.holderId));

describe('DynamoDbReferenceStore', () => {
  it.each([
    ['listed at once (a few references)', 3],
    ['looked up one named user at a time (more than one listing takes)', 300],
  ])('finds the holders of many named users: %s', async (_, reports) => {
    const store = new DynamoDbReferenceStore(table.client, TABLE);
    const scope = { tenantId: randomUUID(), jobId: 'job', generation: 2 };
    const [manager, other, nobody] = [randomUUID(), randomUUID(), randomUUID()];
    const ofManager: Reference[] = Array.from({ length: reports }, (_, i) => ({ referencedId: manager, holderId: randomUUID(), waiting: i % 2 === 0 }));
    const ofOther: Reference[] = [{ referencedId: other, holderId: randomUUID(), waiting: true }];
    await store.putMany(scope, [...ofManager, ...ofOther]);
    await store.putMany({ ...scope, generation: 3 }, [{ referencedId: nobody, holderId: randomUUID(), waiting: true }]);

    const found = await store.holdersOfMany(scope, [manager, other, nobody]);
    expect([...found.keys()].sort()).toEqual([manager, other].sort());
    expect(byHolder(found.get(manager))).toEqual(byHolder(ofManager));
    expect(found.get(other)).toEqual(ofOther);
    expect(byHolder(await store.holdersOf(scope, manager))).toEqual(byHolder(ofManager));
  });
});
