import type { Escrow } from '../ports/escrow-store.ts';
import type { ObjectRef } from '../ports/link-store.ts';
import type { SynchronizationQuarantine } from '../schemas/graph.ts';
import type { Cycle } from '../schemas/stored-job.ts';

/** The longest wait between two retries of one escrow. */
const MAX_RETRY_MINUTES = 24 * 60;

/**
 * The escrow after one more refusal. Retries come less and less often, as Entra's do, but on this service's
 * scale: the first on the next run, then after one interval, twice as long each time, at most a day apart.
 */
export function escrowAfterRefusal(previous: Escrow | undefined, ref: ObjectRef, error: string, at: string, intervalMinutes: number): Escrow {
  const attempts = (previous?.attempts ?? 0) + 1;
  const waitMinutes = attempts === 1 ? 0 : Math.min(intervalMinutes * 2 ** (attempts - 2), MAX_RETRY_MINUTES);
  return {
    type: ref.type,
    sourceId: ref.sourceId,
    error,
    attempts,
    firstFailedAt: previous?.firstFailedAt ?? at,
    nextAttemptAt: new Date(Date.parse(at) + waitMinutes * 60_000).toISOString(),
  };
}

/** Whether an escrow is retried now: when its time has come, or at once when a user started the job. */
export function isDue(escrow: Escrow, at: string, userStart: boolean): boolean {
  return userStart || escrow.nextAttemptAt <= at;
}

/** Entra's escrow thresholds ("roughly, subject to change"). */
export interface EscrowThresholds {
  /** Refusals a cycle must reach before the thresholds are looked at. */
  minimum: number;
  /** Share of the cycle's exports refused beyond which the job is quarantined. */
  proportion: number;
  /** Refusals beyond which the job is quarantined whatever the share. */
  total: number;
}

export const ENTRA_ESCROW_THRESHOLDS: EscrowThresholds = { minimum: 5_000, proportion: 0.4, total: 40_000 };

/**
 * The quarantine a cycle's refusals call for, or null. A target that refuses most of what it is sent is not fixed
 * by sending it again every few minutes: the job stops until someone looks.
 */
export function escrowQuarantine(cycle: Cycle, thresholds: EscrowThresholds): SynchronizationQuarantine['reason'] | null {
  const refused = cycle.countEscrowed;
  if (refused < thresholds.minimum) return null;
  if (refused > thresholds.total) return 'EncounteredTotalEscrowThreshold';
  if (refused > thresholds.proportion * Math.max(cycle.countExports, refused)) return 'EncounteredEscrowProportionThreshold';
  return null;
}
