import {
  MIN_DATE_TIME,
  type SynchronizationError,
  type SynchronizationQuarantine,
  type SynchronizationStatus,
  type TaskExecution,
} from '../schemas/graph.ts';
import type { Cycle } from '../schemas/stored-job.ts';

/** Quarantined jobs retry less and less often, at most once a day (as Entra does). */
const MAX_QUARANTINE_BACKOFF_MINUTES = 24 * 60;

/** What happened to a job's run that its status must show. */
export type RunEvent =
  /** A page of a round was applied. */
  | { kind: 'page'; cycle: Cycle }
  /** A round ended (its sweep done, if full); `counts` when the entry counts were read again. */
  | { kind: 'roundComplete'; cycle: Cycle; counts: { User: number; Group: number } | null }
  /** A round found nothing to do, recorded without the lease. */
  | { kind: 'idleRound'; activityIdentifier: string }
  /** The run stopped early for a reason that passes (throttling, an outage, a fault of ours); the round goes on. */
  | { kind: 'interrupted'; cycle: Cycle; error: SynchronizationError }
  /** The job cannot go on until something changes: quarantine. */
  | { kind: 'quarantined'; cycle: Cycle; error: SynchronizationError; reason: SynchronizationQuarantine['reason']; intervalMinutes: number };

/**
 * A cycle as Graph reports it. `Failed` with the error of a run that stopped early; `EntryLevelErrors` when the
 * target refused objects, with the first refusal as the error, so the reason is in the status and not only in logs.
 */
export function execution(cycle: Cycle, at: string, failure: SynchronizationError | null = null): TaskExecution {
  const refused: SynchronizationError | null =
    cycle.countEscrowed > 0
      ? {
          code: 'EntryLevelErrors',
          message: `${cycle.countEscrowed} ${cycle.countEscrowed === 1 ? 'object was' : 'objects were'} not provisioned and will be retried${cycle.escrowSample ? `; the first: ${cycle.escrowSample}` : ''}.`,
          tenantActionable: true,
        }
      : null;
  return {
    activityIdentifier: cycle.activityIdentifier,
    countEntitled: cycle.countEntitled,
    countEntitledForProvisioning: cycle.countEntitled,
    countEscrowed: cycle.countEscrowed,
    countEscrowedRaw: cycle.countEscrowed,
    countExported: cycle.countExported,
    countExports: cycle.countExports,
    countImported: cycle.countImported,
    countImportedDeltas: cycle.countImportedDeltas,
    countImportedReferenceDeltas: cycle.countImportedReferenceDeltas,
    error: failure ?? refused,
    state: failure ? 'Failed' : refused ? 'EntryLevelErrors' : 'Succeeded',
    timeBegan: cycle.timeBegan,
    timeEnded: at,
  };
}

/**
 * Progress of a full round: objects read against what the directory held when it began; and of a read-back of the
 * target: accounts and groups read back against the links it began with.
 */
function progressOf(cycle: Cycle, at: string): SynchronizationStatus['progress'] {
  const progress: SynchronizationStatus['progress'] = [];
  if (cycle.full && cycle.estimatedTotal !== null) {
    progress.push({ completedUnits: cycle.countImported, totalUnits: Math.max(cycle.estimatedTotal, cycle.countImported), units: 'objects', progressObservationDateTime: at });
  }
  const { reconcile } = cycle;
  if (reconcile) {
    progress.push({ completedUnits: reconcile.verified, totalUnits: Math.max(reconcile.total, reconcile.verified), units: 'targetObjectsVerified', progressObservationDateTime: at });
  }
  return progress;
}

/** The keys of `synchronizedEntryCountByType` that give the last read-back of the target's counts. */
export const READ_BACK_COUNT_KEYS = ['TargetObjectsVerified', 'TargetObjectsRepaired', 'TargetMembershipsRestored'] as const;

/**
 * The entry counts after a round: the links by type when read again, and the counts of the last read-back of the
 * target (this round's, or kept from the one before). Undefined when nothing changes.
 */
function entryCounts(status: SynchronizationStatus, event: Extract<RunEvent, { kind: 'roundComplete' }>): SynchronizationStatus['synchronizedEntryCountByType'] | undefined {
  const { reconciled } = event.cycle;
  if (!event.counts && !reconciled) return undefined;
  const readBack = (key: string) => (READ_BACK_COUNT_KEYS as readonly string[]).includes(key);
  const byType = event.counts
    ? [{ key: 'User', value: event.counts.User }, { key: 'Group', value: event.counts.Group }]
    : status.synchronizedEntryCountByType.filter((entry) => !readBack(entry.key));
  const lastReadBack = reconciled
    ? [
        { key: 'TargetObjectsVerified', value: reconciled.verified },
        { key: 'TargetObjectsRepaired', value: reconciled.repaired },
        { key: 'TargetMembershipsRestored', value: reconciled.membershipsRestored },
      ]
    : status.synchronizedEntryCountByType.filter((entry) => readBack(entry.key));
  return [...byType, ...lastReadBack];
}

function steadyState(status: SynchronizationStatus, at: string): Partial<SynchronizationStatus> {
  return {
    steadyStateLastAchievedTime: at,
    ...(status.steadyStateFirstAchievedTime === MIN_DATE_TIME ? { steadyStateFirstAchievedTime: at } : {}),
  };
}

/** The status fields a run event changes: every status change the worker makes is built here. */
export function statusAfter(status: SynchronizationStatus, event: RunEvent, at: string): Partial<Omit<SynchronizationStatus, 'code'>> {
  switch (event.kind) {
    case 'page':
      return { progress: progressOf(event.cycle, at) };
    case 'roundComplete': {
      const finished = execution(event.cycle, at);
      const entries = entryCounts(status, event);
      return {
        lastExecution: finished,
        countSuccessiveCompleteFailures: 0,
        quarantine: null,
        progress: [],
        ...steadyState(status, at),
        ...(finished.state === 'Succeeded' ? { lastSuccessfulExecution: finished } : {}),
        ...(finished.state === 'Succeeded' && finished.countExported > 0 ? { lastSuccessfulExecutionWithExports: finished } : {}),
        ...(entries ? { synchronizedEntryCountByType: entries } : {}),
      };
    }
    case 'idleRound': {
      const idle: TaskExecution = {
        activityIdentifier: event.activityIdentifier,
        countEntitled: 0,
        countEntitledForProvisioning: 0,
        countEscrowed: 0,
        countEscrowedRaw: 0,
        countExported: 0,
        countExports: 0,
        countImported: 0,
        countImportedDeltas: 0,
        countImportedReferenceDeltas: 0,
        error: null,
        state: 'Succeeded',
        timeBegan: at,
        timeEnded: at,
      };
      return { lastExecution: idle, lastSuccessfulExecution: idle, countSuccessiveCompleteFailures: 0, progress: [], ...steadyState(status, at) };
    }
    case 'interrupted':
      return {
        countSuccessiveCompleteFailures: status.countSuccessiveCompleteFailures + 1,
        lastExecution: execution(event.cycle, at, event.error),
        progress: progressOf(event.cycle, at),
      };
    case 'quarantined': {
      const previous = status.quarantine;
      const seriesCount = previous ? previous.seriesCount + 1 : 0;
      const backoff = Math.min(event.intervalMinutes * 2 ** seriesCount, MAX_QUARANTINE_BACKOFF_MINUTES);
      return {
        quarantine: {
          currentBegan: at,
          nextAttempt: new Date(Date.parse(at) + backoff * 60_000).toISOString(),
          reason: event.reason,
          seriesBegan: previous?.seriesBegan ?? at,
          seriesCount,
          error: event.error,
        },
        countSuccessiveCompleteFailures: status.countSuccessiveCompleteFailures + 1,
        lastExecution: execution(event.cycle, at, event.error),
        progress: [],
        troubleshootingUrl: null,
      };
    }
  }
}
