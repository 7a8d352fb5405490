const UNIT_MINUTES = { minute: 1, hour: 60, day: 1440 } as const;

/** `rate(1 minute)`, `rate(5 minutes)`: EventBridge Scheduler wants the singular unit for 1 and the plural otherwise. */
export function formatRateExpression(minutes: number): string {
  return `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`;
}

/**
 * The period of a `rate(value unit)` expression in minutes, or null when the text is not one that
 * EventBridge Scheduler accepts (zero, leading zeros, or a unit whose number does not match its value).
 */
export function parseRateExpression(expression: string): number | null {
  const match = /^rate\(([1-9]\d*) (minute|hour|day)(s?)\)$/.exec(expression);
  if (!match) return null;
  const [, value = '', unit = 'minute', plural = ''] = match;
  const count = Number(value);
  if ((count === 1) === (plural === 's')) return null;
  return count * UNIT_MINUTES[unit as keyof typeof UNIT_MINUTES];
}
