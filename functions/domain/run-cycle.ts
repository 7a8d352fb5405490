import type { DirectoryObject } from '../ports/directory-source.ts';
import type { Cycle } from '../schemas/stored-job.ts';

/**
 * The words the engine uses:
 * - a **round** reads the directory's changes once through: users, then groups, each to its deltaLink. The first
 *   round of a job, and the one after a reset or an expired delta token, is *full*: it reads every object, and at
 *   its end removes from the target what it did not see.
 * - a **cycle** is one round's work as Graph reports it (a synchronizationTaskExecution: imports, exports,
 *   escrows), from its first page to its last.
 * - a **run** is one worker invocation for one job, holding the job's lease. A round may take many runs (a long
 *   initial sync continues in fresh invocations), and one run may finish a round and start the next.
 */
export function newCycle(activityIdentifier: string, now: string, full: boolean): Cycle {
  return {
    activityIdentifier,
    timeBegan: now,
    countImported: 0,
    countImportedDeltas: 0,
    countImportedReferenceDeltas: 0,
    countExported: 0,
    countExports: 0,
    countEscrowed: 0,
    countEntitled: 0,
    pages: 0,
    countDeletes: 0,
    linkDelta: { User: 0, Group: 0 },
    full,
    estimatedTotal: null,
    readSince: { User: null, Group: null },
    escrowSample: null,
    sweep: null,
    reconcile: null,
    reconciled: null,
  };
}

/** What applying some objects did, as the cycle counts it. */
export interface AppliedCounts {
  exports: number;
  exported: number;
  escrowed: number;
  deletes: number;
  /** The first refusal among them, if any. */
  escrowSample: string | null;
  /** Links created less links removed, by type (the job's entry counts follow it). */
  linkDelta?: Record<'User' | 'Group', number>;
}

/** Adds exports, refusals and deletes to the cycle (a page, an escrow retry, a sweep). */
export function countApplied(cycle: Cycle, applied: AppliedCounts): Cycle {
  return {
    ...cycle,
    countExports: cycle.countExports + applied.exports,
    countExported: cycle.countExported + applied.exported,
    countEscrowed: cycle.countEscrowed + applied.escrowed,
    countDeletes: cycle.countDeletes + applied.deletes,
    escrowSample: cycle.escrowSample ?? applied.escrowSample,
    linkDelta: {
      User: cycle.linkDelta.User + (applied.linkDelta?.User ?? 0),
      Group: cycle.linkDelta.Group + (applied.linkDelta?.Group ?? 0),
    },
  };
}

/** Adds one page's imports to the cycle. */
export function countImported(cycle: Cycle, objects: DirectoryObject[]): Cycle {
  return {
    ...cycle,
    pages: cycle.pages + 1,
    countImported: cycle.countImported + objects.length,
    countImportedDeltas: cycle.countImportedDeltas + (cycle.full ? 0 : objects.length),
    countImportedReferenceDeltas:
      cycle.countImportedReferenceDeltas +
      objects.reduce((sum, object) => sum + object.membersAdded.length + object.membersRemoved.length, 0),
    countEntitled: cycle.countEntitled + objects.filter((object) => object.removed === null).length,
  };
}

/** The cycle once a page began (again) the full read of some types at `at`. */
export function beganReading(cycle: Cycle, types: readonly ('User' | 'Group')[], at: string): Cycle {
  if (types.length === 0) return cycle;
  return { ...cycle, readSince: { ...cycle.readSince, ...Object.fromEntries(types.map((type) => [type, at])) } };
}

/** Since when a full round has read every object of a type: what was not seen since is gone or out of it. */
export function seenSince(cycle: Cycle, type: 'User' | 'Group'): string {
  return cycle.readSince[type] ?? cycle.timeBegan;
}
