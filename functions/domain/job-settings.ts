import * as z from 'zod/mini';
import type { KeyValue } from '../schemas/graph.ts';
import { parseIntervalMinutes } from './interval.ts';

/**
 * Job setting (`synchronizationJobSettings`) that flattens nested groups: a member of a member group is sent as a
 * member of every group above it. Off by default, as in Entra (direct members only).
 */
export const FLATTEN_NESTED_GROUPS = 'FlattenNestedGroups';

export function jobSettingValue(settings: KeyValue[], name: string): string | undefined {
  return settings.find((setting) => setting.name.toLowerCase() === name.toLowerCase())?.value;
}

/**
 * Job setting (`synchronizationJobSettings`) that caps the requests a run sends to the target, per second; decimals
 * allowed (0.27 is about 1,000 an hour). Without it the pace adapts to the target's throttling alone.
 */
export const MAX_REQUESTS_PER_SECOND = 'MaxRequestsPerSecond';

/** A positive number of requests per second, written as a plain decimal ("10", "0.27"). */
export const maxRequestsPerSecondSchema = z
  .pipe(
    z.string().check(z.trim(), z.regex(/^\d+(\.\d+)?$/, `${MAX_REQUESTS_PER_SECOND} must be a positive number of requests per second, e.g. 10 or 0.27`)),
    z.transform(Number),
  )
  .check(z.refine((value) => value > 0, `${MAX_REQUESTS_PER_SECOND} must be a positive number of requests per second, e.g. 10 or 0.27`));

/** The job's `MaxRequestsPerSecond`, or undefined when it is not set (or, stored before it was checked, unreadable). */
export function maxRequestsPerSecondOf(settings: KeyValue[]): number | undefined {
  const value = jobSettingValue(settings, MAX_REQUESTS_PER_SECOND);
  if (value === undefined) return undefined;
  const parsed = maxRequestsPerSecondSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Job setting (`synchronizationJobSettings`) that reads the target back every so often (an ISO 8601 duration, e.g.
 * `P1D`) and repairs what was changed there behind the job's back. Without it the target is read back only by a
 * full round that keeps its links (restart `Watermark`, an expired delta token).
 */
export const RECONCILE_INTERVAL = 'ReconcileInterval';

/** A read-back costs a read of every account: more often than hourly is refused. */
const MIN_RECONCILE_MINUTES = 60;
const reconcileIntervalMessage = `${RECONCILE_INTERVAL} must be an ISO 8601 duration of whole minutes, at least PT1H (e.g. P1D, PT12H)`;

/** The setting's minutes. */
export const reconcileIntervalSchema = z.pipe(
  z.string().check(z.trim()),
  z.transform((value, context) => {
    const minutes = parseIntervalMinutes(value);
    if (minutes === null || minutes < MIN_RECONCILE_MINUTES) {
      context.issues.push({ code: 'custom', message: reconcileIntervalMessage, input: value });
      return z.NEVER;
    }
    return minutes;
  }),
);

/** The job's `ReconcileInterval` in minutes, or undefined when it is not set (or, stored before it was checked, unreadable). */
export function reconcileIntervalOf(settings: KeyValue[]): number | undefined {
  const value = jobSettingValue(settings, RECONCILE_INTERVAL);
  if (value === undefined) return undefined;
  const parsed = reconcileIntervalSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Whether a round should end by reading the target back: asked for (a restart that keeps the links), or due by
 * `ReconcileInterval` since the last read-back (or, before the first, since the job was created).
 */
export function reconcileWanted(
  job: { createdDateTime: string; synchronizationJobSettings: KeyValue[]; run: { reconcileRequested: boolean; reconciledAt: string | null } },
  now: string,
): boolean {
  if (job.run.reconcileRequested) return true;
  const minutes = reconcileIntervalOf(job.synchronizationJobSettings);
  if (minutes === undefined) return false;
  return Date.parse(job.run.reconciledAt ?? job.createdDateTime) + minutes * 60_000 <= Date.parse(now);
}

/** Settings whose values are checked when they are written (a bad one is a 400 that changes nothing). */
export const CHECKED_SETTINGS: Record<string, z.ZodMiniType> = {
  [MAX_REQUESTS_PER_SECOND.toLowerCase()]: maxRequestsPerSecondSchema,
  [RECONCILE_INTERVAL.toLowerCase()]: reconcileIntervalSchema,
};
