import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalDynamoDb } from '../../local/local-dynamodb.ts';
import { installStaleReads, type StaleReads } from '../support/stale-reads.ts';

const TableName = 'stale-reads-test';
let dynamo: Awaited<ReturnType<typeof startLocalDynamoDb>>;
let client: DynamoDBDocumentClient;
let stale: StaleReads;
let partition = 0;
/** Each test writes its own partition, so earlier tests' items never show up. */
let pk: string;

beforeAll(async () => {
  dynamo = await startLocalDynamoDb({ host: '127.0.0.1', port: 0, tableName: TableName });
  client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint }));
  stale = installStaleReads(client);
});
afterAll(async () => {
  stale?.uninstall();
  client?.destroy();
  await dynamo?.close();
});
afterEach(() => {
  stale.close();
  pk = `P${++partition}`;
});
pk = `P${partition}`;

const get = async (sk: string, consistent = false) =>
  (await client.send(new GetCommand({ TableName, Key: { pk, sk }, ConsistentRead: consistent }))).Item;
const put = (sk: string, value: string) => client.send(new PutCommand({ TableName, Item: { pk, sk, value } }));
const query = async (prefix: string, extra: Record<string, unknown> = {}) =>
  client.send(
    new QueryCommand({
      TableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      ...extra,
    }),
  );

describe('stale reads over a document client (dynalite underneath)', () => {
  it('reads what was written while no window is open', async () => {
    await put('a', 'v1');
    await put('a', 'v2');
    expect(await get('a')).toMatchObject({ value: 'v2' });
  });

  it('serves the image before a write to an eventually consistent GetItem, the current one to a consistent read', async () => {
    await put('a', 'v1');
    stale.close(); // replication caught up with v1
    await client.send(
      new UpdateCommand({
        TableName,
        Key: { pk, sk: 'a' },
        UpdateExpression: 'SET #v = :v',
        ExpressionAttributeNames: { '#v': 'value' },
        ExpressionAttributeValues: { ':v': 'v2' },
      }),
    );
    stale.open();
    const servedBefore = stale.served;
    expect(await get('a')).toMatchObject({ value: 'v1' });
    expect(await get('a', true)).toMatchObject({ value: 'v2' });
    expect(stale.served).toBe(servedBefore + 1);
    stale.close();
    expect(await get('a')).toMatchObject({ value: 'v2' });
  });

  it('reads an item created moments ago as missing and one deleted moments ago as still there', async () => {
    await put('gone', 'old');
    stale.close();
    await client.send(new DeleteCommand({ TableName, Key: { pk, sk: 'gone' } }));
    await put('new', 'fresh');
    stale.open();
    expect(await get('new')).toBeUndefined();
    expect(await get('gone')).toMatchObject({ value: 'old' });
    const batch = await client.send(
      new BatchGetCommand({
        RequestItems: {
          [TableName]: {
            Keys: [
              { pk, sk: 'new' },
              { pk, sk: 'gone' },
            ],
          },
        },
      }),
    );
    expect(batch.Responses?.[TableName]?.map((item) => item.sk)).toEqual(['gone']);
    const consistent = await client.send(
      new BatchGetCommand({
        RequestItems: {
          [TableName]: {
            Keys: [
              { pk, sk: 'new' },
              { pk, sk: 'gone' },
            ],
            ConsistentRead: true,
          },
        },
      }),
    );
    expect(consistent.Responses?.[TableName]?.map((item) => item.sk)).toEqual(['new']);
  });

  it('makes a Query stale item by item, keeping its key condition, order, projection and COUNT', async () => {
    await put('L#1', 'one');
    await put('L#2', 'two');
    await put('X#1', 'other prefix');
    stale.close();
    await put('L#2', 'two, updated');
    await put('L#3', 'three');
    await client.send(new DeleteCommand({ TableName, Key: { pk, sk: 'L#1' } }));
    await put('X#2', 'other prefix, new');
    stale.open();

    expect((await query('L#')).Items).toEqual([
      { pk, sk: 'L#1', value: 'one' },
      { pk, sk: 'L#2', value: 'two' },
    ]);
    expect((await query('L#', { ProjectionExpression: '#v', ExpressionAttributeNames: { '#v': 'value' } })).Items).toEqual([
      { value: 'one' },
      { value: 'two' },
    ]);
    expect((await query('L#', { ScanIndexForward: false })).Items?.map((item) => item.sk)).toEqual(['L#2', 'L#1']);
    expect(await query('L#', { Select: 'COUNT' })).toMatchObject({ Count: 2 });
    expect((await query('X#')).Items?.map((item) => item.sk)).toEqual(['X#1']);
    expect((await query('L#', { ConsistentRead: true })).Items?.map((item) => item.value)).toEqual(['two, updated', 'three']);
  });

  it('pages a stale Query: an item that is there again falls in the page its key belongs to', async () => {
    for (const sk of ['Q#1', 'Q#2', 'Q#3', 'Q#4']) await put(sk, sk);
    stale.close();
    await client.send(new DeleteCommand({ TableName, Key: { pk, sk: 'Q#2' } }));
    stale.open();
    const first = await query('Q#', { Limit: 2 });
    expect(first.Items?.map((item) => item.sk)).toEqual(['Q#1', 'Q#2']);
    const second = await query('Q#', { Limit: 2, ExclusiveStartKey: first.LastEvaluatedKey });
    expect(second.Items?.map((item) => item.sk)).toEqual(['Q#3', 'Q#4']);
  });

  it('remembers batch writes, and never a write whose condition failed', async () => {
    await put('b', 'v1');
    await put('d', 'v1');
    await put('c', 'v1');
    stale.close();
    await client.send(
      new BatchWriteCommand({
        RequestItems: {
          [TableName]: [{ PutRequest: { Item: { pk, sk: 'b', value: 'v2' } } }, { DeleteRequest: { Key: { pk, sk: 'd' } } }],
        },
      }),
    );
    await expect(
      client.send(new PutCommand({ TableName, Item: { pk, sk: 'c', value: 'v2' }, ConditionExpression: 'attribute_not_exists(pk)' })),
    ).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
    stale.open();
    expect(await get('b')).toMatchObject({ value: 'v1' });
    expect(await get('d')).toMatchObject({ value: 'v1' });
    expect(await get('c')).toMatchObject({ value: 'v1' });
  });

  it('serves, for an item written several times, any of its earlier images; with probability 0 none', async () => {
    for (const value of ['v1', 'v2', 'v3']) await put('m', value);
    stale.close();
    for (const value of ['v4', 'v5']) await put('m', value);
    const picks = [0, 0.99];
    stale.open({ random: () => picks.shift() ?? 0 });
    expect(await get('m')).toMatchObject({ value: 'v4' }); // the last write's before-image is v4
    stale.open({ probability: 1, random: () => 0.0 });
    expect(await get('m')).toMatchObject({ value: 'v3' }); // the oldest image since the memory began
    stale.open({ probability: 0 });
    expect(await get('m')).toMatchObject({ value: 'v5' });
  });

  it('refuses low-level data commands, whose reads it could not make stale', async () => {
    await expect(client.send(new GetItemCommand({ TableName, Key: { pk: { S: pk }, sk: { S: 'a' } } }) as never)).rejects.toThrow(
      /lib-dynamodb form of GetItemCommand/,
    );
  });
});
