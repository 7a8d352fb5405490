/**
 * Job intervals are ISO 8601 durations in whole minutes (EventBridge Scheduler's `rate()` floor is one minute).
 * Returns the minutes, or null when the value is not such a duration.
 */
export function parseIntervalMinutes(value: string): number | null {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(value);
  if (!match || value === 'P' || value.endsWith('T')) return null;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  const totalSeconds = ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds);
  if (totalSeconds % 60 !== 0) return null;
  const total = totalSeconds / 60;
  return total >= 1 && total <= MAX_INTERVAL_MINUTES ? total : null;
}

/** 366 days: long enough for any provisioning cadence, short enough for Scheduler's rate() values. */
export const MAX_INTERVAL_MINUTES = 366 * 24 * 60;

/** Renders minutes as the ISO 8601 duration Graph shows, e.g. 40 → `PT40M`, 90 → `PT1H30M`, 1440 → `P1D`. */
export function formatInterval(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const time = `${hours ? `${hours}H` : ''}${mins ? `${mins}M` : ''}`;
  return `P${days ? `${days}D` : ''}${time ? `T${time}` : ''}`;
}
