/** Splits items into runs of at most `size` (batch limits: DynamoDB's 25 and 100, a PATCH's member values). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
