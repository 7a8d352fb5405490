import { z } from 'zod';
import type { KeyValue } from '../schemas/graph.ts';

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
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?$/, `${MAX_REQUESTS_PER_SECOND} must be a positive number of requests per second, e.g. 10 or 0.27`)
  .transform(Number)
  .refine((value) => value > 0, `${MAX_REQUESTS_PER_SECOND} must be a positive number of requests per second, e.g. 10 or 0.27`);

/** The job's `MaxRequestsPerSecond`, or undefined when it is not set (or, stored before it was checked, unreadable). */
export function maxRequestsPerSecondOf(settings: KeyValue[]): number | undefined {
  const value = jobSettingValue(settings, MAX_REQUESTS_PER_SECOND);
  if (value === undefined) return undefined;
  const parsed = maxRequestsPerSecondSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
