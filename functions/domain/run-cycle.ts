import type { DirectoryObject } from '../ports/directory-source.ts';
import type { SynchronizationError, TaskExecution } from '../schemas/graph.ts';
import type { Cycle } from '../schemas/stored-job.ts';

/** A provisioning cycle's bookkeeping: counters that add up page by page into Graph's synchronizationTaskExecution. */
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
    full,
  };
}

/** The cycle as Graph reports it; an error makes it Failed, escrows EntryLevelErrors. */
export function execution(cycle: Cycle, now: string, error: SynchronizationError | null): TaskExecution {
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
    error,
    state: error ? 'Failed' : cycle.countEscrowed > 0 ? 'EntryLevelErrors' : 'Succeeded',
    timeBegan: cycle.timeBegan,
    timeEnded: now,
  };
}

/** Adds one page's imports and exports to the cycle. */
export function countPage(
  cycle: Cycle,
  objects: DirectoryObject[],
  page: { exports: number; exported: number; escrowed: number; deletes?: number },
): Cycle {
  return {
    ...cycle,
    pages: cycle.pages + 1,
    countImported: cycle.countImported + objects.length,
    countImportedDeltas: cycle.countImportedDeltas + (cycle.full ? 0 : objects.length),
    countImportedReferenceDeltas:
      cycle.countImportedReferenceDeltas +
      objects.reduce((sum, object) => sum + object.membersAdded.length + object.membersRemoved.length, 0),
    countEntitled: cycle.countEntitled + objects.filter((object) => object.removed === null).length,
    countExports: cycle.countExports + page.exports,
    countExported: cycle.countExported + page.exported,
    countEscrowed: cycle.countEscrowed + page.escrowed,
    countDeletes: cycle.countDeletes + (page.deletes ?? 0),
  };
}
