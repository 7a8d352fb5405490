/**
 * Counts what a DynamoDB client spends: a middleware asks every request for `ReturnConsumedCapacity: 'TOTAL'` and
 * adds up the units the answer reports, by operation. dynalite computes them as DynamoDB does (per 4 KB read, per
 * 1 KB written) but reports 0 for a read that finds nothing, which DynamoDB bills at its minimum: a strongly
 * consistent read that reports less than 1 unit is counted as 1.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand']);

export interface CapacityTotals {
  calls: number;
  readUnits: number;
  writeUnits: number;
  byOperation: Record<string, { calls: number; units: number }>;
}

export function countCapacity(client: DynamoDBDocumentClient) {
  let totals: CapacityTotals = { calls: 0, readUnits: 0, writeUnits: 0, byOperation: {} };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string; ConsistentRead?: boolean; RequestItems?: Record<string, { ConsistentRead?: boolean }> };
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const operation = String(context.commandName).replace(/^(BatchGet|BatchWrite)Command$/, '$1ItemCommand');
      const reported = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[] }).ConsumedCapacity;
      let units = [reported ?? []].flat().reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
      const read = READS.has(operation);
      if (read && units < 1) units = 1;
      totals.calls += 1;
      if (read) totals.readUnits += units;
      else totals.writeUnits += units;
      const entry = (totals.byOperation[operation] ??= { calls: 0, units: 0 });
      entry.calls += 1;
      entry.units += units;
      return result;
    },
    { step: 'initialize', name: 'benchConsumedCapacity' },
  );
  return {
    /** What was spent since the last call (and starts counting afresh). */
    take: (): CapacityTotals => {
      const taken = totals;
      totals = { calls: 0, readUnits: 0, writeUnits: 0, byOperation: {} };
      return taken;
    },
  };
}
