import { CreateTableCommand, DescribeTableCommand, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  type GetCommandOutput,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;
/** An item as it was before one of its writes; null = it did not exist. */
type Image = Item | null;

/** Options of a stale window. */
export interface StaleWindowOptions {
  /** Chance that one eventually consistent read of one item serves an older image; default 1. */
  probability?: number;
  /** Uniform [0, 1) source: which reads go stale and which older image they get. Default Math.random. */
  random?: () => number;
}

/** Controls the stale reads of one client (see {@link installStaleReads}). */
export interface StaleReads {
  /** From now on, eventually consistent reads may serve images older than the item's last writes. */
  open(options?: StaleWindowOptions): void;
  /** Reads are current again and the older images are forgotten (replication has caught up). */
  close(): void;
  readonly isOpen: boolean;
  /** Item reads that served an older image since installation. */
  readonly served: number;
  /** Restores the client's own `send`. */
  uninstall(): void;
}

/** Older images kept per item; a replica lags by a few writes, not by the item's whole history. */
const MAX_IMAGES = 8;

/** client-dynamodb's data commands: their lib-dynamodb forms are made stale, these are refused. */
const LOW_LEVEL_DATA_COMMANDS = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchGetItemCommand',
  'BatchWriteItemCommand',
  'QueryCommand',
]);

/**
 * Eventual consistency for a DynamoDB document client, as real DynamoDB has it and dynalite never does. Every
 * write through the client first records the item's image before it (a consistent read). While a window is open,
 * GetItem, BatchGetItem and Query that do not ask for `ConsistentRead` may serve, item by item, one of the images
 * the item had since the window's memory began: the previous value of an updated item, "not found" for an item
 * created moments ago, the item itself for one deleted moments ago. Key conditions, filters, projections and
 * paging of a stale Query are evaluated by DynamoDB itself, against a scratch table holding the older images.
 *
 * It wraps `send` of a client built with `DynamoDBDocumentClient.from`, and handles the commands of
 * `@aws-sdk/lib-dynamodb`. Low-level data commands sent through the same client are refused, so a read that this
 * adapter cannot make stale is never mistaken for one that was tested against staleness. Scans and queries of an
 * index pass through unchanged; transactions are not handled (dynalite has none).
 */
export function installStaleReads(client: DynamoDBDocumentClient): StaleReads {
  const send = client.send.bind(client) as (command: unknown) => Promise<any>;
  const memory = new Map<string, { table: string; key: Item; images: Image[] }>();
  const keySchemas = new Map<string, Promise<KeySchemaElement[]>>();
  const scratchTables = new Map<string, Promise<string>>();
  let window: { probability: number; random: () => number } | null = null;
  let served = 0;
  let queue: Promise<unknown> = Promise.resolve();

  const keySchemaOf = (table: string): Promise<KeySchemaElement[]> => {
    let schema = keySchemas.get(table);
    if (!schema) {
      schema = send(new DescribeTableCommand({ TableName: table })).then((described) => described.Table.KeySchema as KeySchemaElement[]);
      keySchemas.set(table, schema);
    }
    return schema;
  };

  const keyOf = async (table: string, item: Item): Promise<Item> => {
    const schema = await keySchemaOf(table);
    return Object.fromEntries(schema.map(({ AttributeName }) => [AttributeName!, item[AttributeName!]]));
  };
  const memoryKey = (table: string, key: Item) =>
    JSON.stringify([
      table,
      ...Object.keys(key)
        .sort()
        .map((name) => key[name]),
    ]);

  async function currentImage(table: string, key: Item): Promise<Image> {
    const { Item: item } = await send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    return (item as Item | undefined) ?? null;
  }

  function remember(table: string, key: Item, before: Image): void {
    const id = memoryKey(table, key);
    const entry = memory.get(id) ?? { table, key, images: [] };
    entry.images.push(before === null ? null : structuredClone(before));
    if (entry.images.length > MAX_IMAGES) entry.images.shift();
    memory.set(id, entry);
  }

  /** Runs a write and, when it succeeded, remembers the images its items had before (only those it wrote). */
  async function write(
    targets: { table: string; key: Item }[],
    run: () => Promise<any>,
    done: (output: any) => Promise<{ table: string; key: Item }[]> = async () => targets,
  ) {
    const before = await Promise.all(targets.map(async (target) => ({ ...target, image: await currentImage(target.table, target.key) })));
    const output = await run();
    const written = new Set((await done(output)).map((target) => memoryKey(target.table, target.key)));
    for (const target of before) if (written.has(memoryKey(target.table, target.key))) remember(target.table, target.key, target.image);
    return output;
  }

  /** For each remembered item of `table` this read goes stale for: the older image it serves. */
  function staleChoices(table: string): Map<string, { key: Item; image: Image }> {
    const choices = new Map<string, { key: Item; image: Image }>();
    if (!window) return choices;
    for (const [id, entry] of memory) {
      if (entry.table !== table || entry.images.length === 0) continue;
      if (window.random() >= window.probability) continue;
      const image = entry.images[Math.floor(window.random() * entry.images.length)] ?? null;
      choices.set(id, { key: entry.key, image });
    }
    return choices;
  }

  /** One at a time: the scratch table holds one read's images. */
  function serially<T>(work: () => Promise<T>): Promise<T> {
    const result = queue.then(work, work);
    queue = result.catch(() => undefined);
    return result;
  }

  async function scratchTableOf(table: string): Promise<string> {
    let name = scratchTables.get(table);
    if (!name) {
      name = (async () => {
        const described = (await send(new DescribeTableCommand({ TableName: table }))).Table;
        const scratch = `${table}.stale-view`;
        const keyNames = new Set((described.KeySchema as KeySchemaElement[]).map((element) => element.AttributeName));
        try {
          await send(
            new CreateTableCommand({
              TableName: scratch,
              KeySchema: described.KeySchema,
              AttributeDefinitions: described.AttributeDefinitions.filter((definition: { AttributeName: string }) =>
                keyNames.has(definition.AttributeName),
              ),
              BillingMode: 'PAY_PER_REQUEST',
            }),
          );
        } catch (error) {
          if ((error as Error).name !== 'ResourceInUseException') throw error;
        }
        for (;;) {
          const status = (await send(new DescribeTableCommand({ TableName: scratch }))).Table.TableStatus;
          if (status === 'ACTIVE') return scratch;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      scratchTables.set(table, name);
    }
    return name;
  }

  /** Runs `read` against a scratch copy of `table` that holds only `images`. */
  function withImages<T>(table: string, images: Item[], read: (scratch: string) => Promise<T>): Promise<T> {
    return serially(async () => {
      const scratch = await scratchTableOf(table);
      for (const image of images) await send(new PutCommand({ TableName: scratch, Item: image }));
      try {
        return await read(scratch);
      } finally {
        for (const image of images) await send(new DeleteCommand({ TableName: scratch, Key: await keyOf(table, image) }));
      }
    });
  }

  async function staleGet(command: GetCommand): Promise<GetCommandOutput> {
    const input = command.input;
    const fresh = (await send(command)) as GetCommandOutput;
    const choice = staleChoices(input.TableName!).get(memoryKey(input.TableName!, input.Key as Item));
    if (!choice) return fresh;
    served += 1;
    const { Item: _fresh, ...rest } = fresh;
    if (choice.image === null) return rest;
    const image = choice.image;
    if (!input.ProjectionExpression) return { ...rest, Item: structuredClone(image) };
    const projected = await withImages(input.TableName!, [image], (scratch) =>
      send(new GetCommand({ ...input, TableName: scratch, ConsistentRead: true })),
    );
    return { ...rest, ...(projected.Item ? { Item: projected.Item } : {}) };
  }

  async function staleBatchGet(command: BatchGetCommand): Promise<BatchGetCommandOutput> {
    const fresh = (await send(command)) as BatchGetCommandOutput;
    const responses: Record<string, Item[]> = { ...(fresh.Responses as Record<string, Item[]> | undefined) };
    let stale = false;
    for (const [table, request] of Object.entries(command.input.RequestItems ?? {})) {
      if (request.ConsistentRead) continue;
      const choices = staleChoices(table);
      const unprocessed = new Set(((fresh.UnprocessedKeys?.[table]?.Keys ?? []) as Item[]).map((key) => memoryKey(table, key)));
      const ids = ((request.Keys ?? []) as Item[])
        .map((key) => memoryKey(table, key))
        .filter((id) => choices.has(id) && !unprocessed.has(id));
      if (ids.length === 0) continue;
      stale = true;
      const staleIds = new Set(ids);
      const kept: Item[] = [];
      for (const item of responses[table] ?? []) if (!staleIds.has(memoryKey(table, await keyOf(table, item)))) kept.push(item);
      const images = ids.map((id) => choices.get(id)!.image).filter((image): image is Item => image !== null);
      let older = images.map((image) => structuredClone(image));
      if (request.ProjectionExpression && images.length > 0) {
        older = await withImages(table, images, async (scratch) => {
          const keys = await Promise.all(images.map((image) => keyOf(table, image)));
          const projected = (await send(
            new BatchGetCommand({ RequestItems: { [scratch]: { ...request, Keys: keys, ConsistentRead: true } } }),
          )) as BatchGetCommandOutput;
          return (projected.Responses?.[scratch] ?? []) as Item[];
        });
      }
      responses[table] = [...kept, ...older];
    }
    if (stale) served += 1;
    return { ...fresh, Responses: responses };
  }

  async function staleQuery(command: QueryCommand): Promise<QueryCommandOutput> {
    const input = command.input;
    const table = input.TableName!;
    const choices = staleChoices(table);
    if (choices.size === 0) return send(command);
    const schema = await keySchemaOf(table);
    const rangeName = schema.find((element) => element.KeyType === 'RANGE')?.AttributeName;

    // The same query, listing items with their keys (a COUNT is counted from the listing afterwards).
    const counting = input.Select === 'COUNT';
    const projected = input.ProjectionExpression ? projectionNames(input) : null;
    const appended = projected ? schema.map((element) => element.AttributeName!).filter((name) => !projected.has(name)) : [];
    const names = { ...input.ExpressionAttributeNames };
    let projection = input.ProjectionExpression;
    for (const [index, name] of appended.entries()) {
      names[`#staleKey${index}`] = name;
      projection = `${projection}, #staleKey${index}`;
    }
    const listing: QueryCommandInput = {
      ...input,
      Select: counting ? undefined : input.Select,
      ...(appended.length > 0 ? { ProjectionExpression: projection, ExpressionAttributeNames: names } : {}),
    };
    const fresh = (await send(new QueryCommand(listing))) as QueryCommandOutput;
    const kept: Item[] = [];
    let stale = false;
    for (const item of (fresh.Items ?? []) as Item[]) {
      if (choices.has(memoryKey(table, await keyOf(table, item)))) stale = true;
      else kept.push(item);
    }
    const images = [...choices.values()].map((choice) => choice.image).filter((image): image is Item => image !== null);
    const older =
      images.length === 0
        ? []
        : await withImages(table, images, async (scratch) => {
            const items: Item[] = [];
            let start = input.ExclusiveStartKey;
            do {
              const page = (await send(
                new QueryCommand({ ...listing, TableName: scratch, Limit: undefined, ExclusiveStartKey: start, ConsistentRead: true }),
              )) as QueryCommandOutput;
              items.push(...((page.Items ?? []) as Item[]));
              start = page.LastEvaluatedKey;
            } while (start);
            return items;
          });

    const forward = input.ScanIndexForward !== false;
    const order = (a: Item, b: Item) => {
      if (!rangeName) return 0;
      const x = a[rangeName] as string | number;
      const y = b[rangeName] as string | number;
      return (x < y ? -1 : x > y ? 1 : 0) * (forward ? 1 : -1);
    };
    // An older image belongs to this page only up to where the fresh page stopped.
    const end = fresh.LastEvaluatedKey as Item | undefined;
    const inPage = older.filter((item) => !end || order(item, end) <= 0);
    if (inPage.length > 0) stale = true;
    let merged = [...kept, ...inPage].sort(order);
    let lastKey = end;
    if (input.Limit !== undefined && merged.length > input.Limit) {
      merged = merged.slice(0, input.Limit);
      lastKey = await keyOf(table, merged.at(-1)!);
    }
    if (stale) served += 1;
    const items = merged.map((item) => {
      const copy = { ...item };
      for (const name of appended) delete copy[name];
      return copy;
    });
    const { Items: _items, LastEvaluatedKey: _last, ...rest } = fresh;
    return {
      ...rest,
      ...(counting ? {} : { Items: items }),
      Count: items.length,
      ScannedCount: items.length,
      ...(lastKey ? { LastEvaluatedKey: lastKey } : {}),
    };
  }

  async function staleAware(command: unknown): Promise<unknown> {
    if (command instanceof GetCommand) return command.input.ConsistentRead || !window ? send(command) : staleGet(command);
    if (command instanceof BatchGetCommand) return window ? staleBatchGet(command) : send(command);
    if (command instanceof QueryCommand) {
      return command.input.ConsistentRead || command.input.IndexName || !window ? send(command) : staleQuery(command);
    }
    if (command instanceof PutCommand) {
      const table = command.input.TableName!;
      return write([{ table, key: await keyOf(table, command.input.Item as Item) }], () => send(command));
    }
    if (command instanceof UpdateCommand || command instanceof DeleteCommand) {
      return write([{ table: command.input.TableName!, key: command.input.Key as Item }], () => send(command));
    }
    if (command instanceof BatchWriteCommand) {
      const targetsOf = async (requestItems: Record<string, { PutRequest?: { Item?: Item }; DeleteRequest?: { Key?: Item } }[]>) => {
        const targets: { table: string; key: Item }[] = [];
        for (const [table, requests] of Object.entries(requestItems)) {
          for (const request of requests) {
            targets.push({
              table,
              key: request.PutRequest ? await keyOf(table, request.PutRequest.Item ?? {}) : (request.DeleteRequest?.Key ?? {}),
            });
          }
        }
        return targets;
      };
      const targets = await targetsOf((command.input.RequestItems ?? {}) as never);
      return write(
        targets,
        () => send(command),
        async (output: { UnprocessedItems?: Record<string, never[]> }) => {
          const unprocessed = new Set(
            (await targetsOf(output.UnprocessedItems ?? {})).map((target) => memoryKey(target.table, target.key)),
          );
          return targets.filter((target) => !unprocessed.has(memoryKey(target.table, target.key)));
        },
      );
    }
    const name = (command as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
    if (LOW_LEVEL_DATA_COMMANDS.has(name)) {
      throw new Error(`stale reads: send the @aws-sdk/lib-dynamodb form of ${name}, so that its reads can go stale`);
    }
    return send(command);
  }

  const installed = client.send;
  client.send = ((command: unknown) => staleAware(command)) as typeof client.send;

  return {
    open(options = {}) {
      window = { probability: options.probability ?? 1, random: options.random ?? Math.random };
    },
    close() {
      window = null;
      memory.clear();
    },
    get isOpen() {
      return window !== null;
    },
    get served() {
      return served;
    },
    uninstall() {
      client.send = installed;
    },
  };
}

/** Top-level attribute names a projection expression names (with `#name` placeholders resolved). */
function projectionNames(input: QueryCommandInput): Set<string> {
  const names = new Set<string>();
  for (const part of (input.ProjectionExpression ?? '').split(',')) {
    const head = part.trim().split(/[.[]/)[0] ?? '';
    names.add(head.startsWith('#') ? (input.ExpressionAttributeNames?.[head] ?? head) : head);
  }
  return names;
}
