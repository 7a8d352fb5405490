import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The capacity one DynamoDB call consumed, by what it addressed. */
export interface ConsumedEntry {
  command: string;
  /** The kind of item addressed: the sort key up to its first `#` (`JOB`, `SECRETS`, `G0`, …) or, for one beside another, its last part (`IDLE`); `query <prefix>`; `batch`. */
  item: string;
  read: number;
  write: number;
}

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);
const NAME = 'consumedCapacityMeter';

function itemKind(input: Record<string, unknown>): string {
  const key = (input.Key ?? input.Item) as { sk?: unknown } | undefined;
  if (typeof key?.sk === 'string') {
    const parts = key.sk.split('#');
    // An item beside another (`JOB#<id>#IDLE`) is named by its last part.
    return parts.length > 2 && /^[A-Z]+$/.test(parts.at(-1)!) ? parts.at(-1)! : parts[0]!;
  }
  if (input.KeyConditionExpression) {
    // The sort key prefix the query starts from, when it names one (begins_with or a range start).
    const values = Object.values((input.ExpressionAttributeValues ?? {}) as Record<string, unknown>).filter((value) => typeof value === 'string') as string[];
    const prefix = values.find((value) => !value.startsWith('T#'));
    return `query ${prefix ? prefix.split('#')[0] : ''}`.trim();
  }
  return 'batch';
}

/**
 * Asks DynamoDB for `ReturnConsumedCapacity: 'TOTAL'` on every call of `client` and records what each consumed
 * (transactions and batches answer with one entry per table: they are summed). dynalite reports capacity as
 * DynamoDB bills it, from the item sizes (an UpdateItem counts the larger of the item before and after).
 */
export function meterConsumedCapacity(client: DynamoDBDocumentClient) {
  const entries: ConsumedEntry[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
      const command = context.commandName ?? 'unknown';
      const isRead = READS.has(command);
      let read = 0;
      let write = 0;
      for (const capacity of [consumed ?? []].flat()) {
        read += capacity.ReadCapacityUnits ?? (isRead ? (capacity.CapacityUnits ?? 0) : 0);
        write += capacity.WriteCapacityUnits ?? (isRead ? 0 : (capacity.CapacityUnits ?? 0));
      }
      entries.push({ command: command.replace(/Command$/, ''), item: itemKind(input), read, write });
      return result;
    },
    { step: 'initialize', name: NAME, override: true },
  );
  return {
    entries,
    reset: () => {
      entries.length = 0;
    },
    total: () => entries.reduce((sum, entry) => ({ read: sum.read + entry.read, write: sum.write + entry.write }), { read: 0, write: 0 }),
    /** Read and write units summed per item kind. */
    byItem: () => {
      const sums = new Map<string, { calls: string[]; read: number; write: number }>();
      for (const entry of entries) {
        const sum = sums.get(entry.item) ?? { calls: [], read: 0, write: 0 };
        sum.calls.push(entry.command);
        sum.read += entry.read;
        sum.write += entry.write;
        sums.set(entry.item, sum);
      }
      return sums;
    },
    stop: () => {
      client.middlewareStack.remove(NAME);
    },
  };
}
