import * as z from 'zod/mini';
import type { KeyValue } from '../schemas/graph.ts';
import type { ObjectPlan } from './sync-plan.ts';

/** The part of the `SyncNotificationSettings` secret (a JSON string) that turns the deletion threshold on. */
const notificationSettingsSchema = z.looseObject({
  DeleteThresholdEnabled: z.optional(
    z.union([z.boolean(), z.pipe(z.enum(['true', 'false', 'True', 'False']), z.transform((v) => v.toLowerCase() === 'true'))]),
  ),
  DeleteThresholdValue: z.optional(z.coerce.number().check(z.int(), z.positive())),
});

/**
 * Entra's "prevent accidental deletions": when `SyncNotificationSettings` has `DeleteThresholdEnabled`, a cycle may
 * delete or disable at most `DeleteThresholdValue` objects (else the job setting `QuarantineTooManyDeletesThreshold`).
 * Returns the threshold, or null when the protection is off (or the settings cannot be read).
 */
export function deleteThresholdOf(jobSettings: KeyValue[], syncNotificationSettings: string | undefined): number | null {
  if (!syncNotificationSettings) return null;
  let parsed;
  try {
    parsed = notificationSettingsSchema.safeParse(JSON.parse(syncNotificationSettings));
  } catch {
    return null;
  }
  if (!parsed.success || parsed.data.DeleteThresholdEnabled !== true) return null;
  if (parsed.data.DeleteThresholdValue) return parsed.data.DeleteThresholdValue;
  const setting = Number(jobSettings.find((entry) => entry.name === 'QuarantineTooManyDeletesThreshold')?.value);
  return Number.isInteger(setting) && setting > 0 ? setting : null;
}

/** Plans the threshold counts: deletes, and updates that disable an account. */
export function isDestructive(plan: ObjectPlan): boolean {
  if (plan.kind === 'delete') return true;
  return plan.kind === 'update' && plan.operations.some((operation) => operation.path === 'active' && operation.value === false);
}
