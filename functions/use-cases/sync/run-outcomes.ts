import type { SynchronizationError, SynchronizationQuarantine } from '../../schemas/graph.ts';
import type { Cycle } from '../../schemas/stored-job.ts';
import { SourceUnavailableError } from '../../ports/directory-source.ts';
import { ScimRequestError, TargetUnavailableError } from '../../ports/scim-target.ts';
import { ThrottledError } from '../../ports/throttled-error.ts';

/** A cycle would delete or disable more than the accidental-deletion threshold allows. */
export class TooManyDeletesError extends Error {
  constructor(count: number, threshold: number) {
    super(
      `This cycle would delete or disable ${count} objects, more than the accidental-deletion threshold of ${threshold}. ` +
        'Nothing past the threshold was applied. If the deletions are intended, restart the job with resetScope ForceDeletes.',
    );
    this.name = 'TooManyDeletesError';
  }
}

/** The target refuses so much of what it is sent that sending it again will not help (Entra's escrow thresholds). */
export class EscrowThresholdError extends Error {
  constructor(
    cycle: Cycle,
    readonly reason: SynchronizationQuarantine['reason'],
  ) {
    super(
      `The target refused ${cycle.countEscrowed} of ${cycle.countExports} objects in this cycle${cycle.escrowSample ? ` (the first: ${cycle.escrowSample})` : ''}. ` +
        'Fix the cause, then restart the job.',
    );
    this.name = 'EscrowThresholdError';
  }
}

/** How a run that stopped on an error ends. */
export type RunFailure =
  /** The job cannot go on until someone acts: quarantine. */
  | { kind: 'quarantine'; error: SynchronizationError; reason: SynchronizationQuarantine['reason'] }
  /** Slow down: no run before `retryAt`; the round carries on from where it stopped. */
  | { kind: 'throttled'; error: SynchronizationError; retryAt: string }
  /** Something that passes (an outside answer at a moment it should not come): the next run carries on. */
  | { kind: 'failed'; error: SynchronizationError }
  /** A fault of ours: reported, and the invocation fails so the alarm sees it. */
  | { kind: 'internal'; error: SynchronizationError };

/** Each error class and how the run ends on it, most specific first. */
const table: [abstract new (...args: never[]) => Error, (error: never, now: Date) => RunFailure][] = [
  [
    ThrottledError,
    (error: ThrottledError, now) => ({
      kind: 'throttled',
      retryAt: (error.retryAt > now ? error.retryAt : now).toISOString(),
      error: {
        code: error.system === 'target' ? 'TargetThrottled' : 'SourceThrottled',
        message: `${error.message} The run continues at ${(error.retryAt > now ? error.retryAt : now).toISOString()}.`,
        tenantActionable: false,
      },
    }),
  ],
  [TooManyDeletesError, (error: TooManyDeletesError) => ({ kind: 'quarantine', reason: 'TooManyDeletes', error: { code: 'TooManyDeletes', message: error.message, tenantActionable: true } })],
  [EscrowThresholdError, (error: EscrowThresholdError) => ({ kind: 'quarantine', reason: error.reason, error: { code: 'EscrowThreshold', message: error.message, tenantActionable: true } })],
  [TargetUnavailableError, (error: TargetUnavailableError) => ({ kind: 'quarantine', reason: 'EncounteredQuarantineException', error: { code: 'TargetUnavailable', message: error.message, tenantActionable: true } })],
  [
    SourceUnavailableError,
    (error: SourceUnavailableError) =>
      error.tenantActionable
        ? { kind: 'quarantine', reason: 'EncounteredQuarantineException', error: { code: 'SourceUnavailable', message: error.message, tenantActionable: true } }
        : { kind: 'failed', error: { code: 'SourceUnavailable', message: error.message, tenantActionable: false } },
  ],
  [ScimRequestError, (error: ScimRequestError) => ({ kind: 'failed', error: { code: 'TargetRequestFailed', message: error.message, tenantActionable: false } })],
];

/** The outcome of a run stopped by `error` (an unknown error is a fault of ours, and says no more than that). */
export function outcomeOf(error: unknown, now: Date): RunFailure {
  for (const [type, outcome] of table) {
    if (error instanceof type) return (outcome as (error: unknown, now: Date) => RunFailure)(error, now);
  }
  const name = error instanceof Error ? error.name : typeof error;
  return { kind: 'internal', error: { code: 'InternalError', message: `The run stopped on an internal error (${name}); the next run carries on.`, tenantActionable: false } };
}
