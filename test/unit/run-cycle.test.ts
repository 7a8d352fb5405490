import { describe, expect, it } from 'vitest';
import { countApplied, countImported, newCycle } from '../../functions/domain/run-cycle.ts';
import { execution } from '../../functions/domain/run-status.ts';
import type { DirectoryObject } from '../../functions/ports/directory-source.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const T1 = '2026-03-02T10:01:00.000Z';

function object(type: 'User' | 'Group', removed: DirectoryObject['removed'] = null, members = 0): DirectoryObject {
  return { type, id: `${type}-${Math.random()}`, attributes: {}, membersAdded: Array.from({ length: members }, (_, i) => `m${i}`), membersRemoved: [], removed };
}

describe('run cycle bookkeeping', () => {
  it('adds pages up: imports, deltas only outside a full round, references, entitled, exports', () => {
    const objects = [object('User'), object('User', 'deleted'), object('Group', null, 3)];
    const full = countApplied(countImported(newCycle('a', T0, true), objects), { exports: 2, exported: 1, escrowed: 1, deletes: 0, escrowSample: null });
    expect(full).toMatchObject({ pages: 1, countImported: 3, countImportedDeltas: 0, countImportedReferenceDeltas: 3, countEntitled: 2, countExports: 2, countExported: 1, countEscrowed: 1 });
    const incremental = countImported(countImported(newCycle('b', T0, false), objects), objects);
    expect(incremental).toMatchObject({ pages: 2, countImported: 6, countImportedDeltas: 6 });
  });

  it.each([
    [{ exports: 1, exported: 1, escrowed: 0 }, null, 'Succeeded', null],
    [{ exports: 2, exported: 1, escrowed: 1 }, null, 'EntryLevelErrors', 'EntryLevelErrors'],
    [{ exports: 0, exported: 0, escrowed: 0 }, { code: 'TargetUnavailable', message: 'x', tenantActionable: true }, 'Failed', 'TargetUnavailable'],
  ] as const)('reports %j with error %j as %s', (page, failure, state, code) => {
    const cycle = countApplied(countImported(newCycle('c', T0, false), [object('User')]), { ...page, deletes: 0, escrowSample: page.escrowed ? "User u1: POST /Users answered 409: userName already exists" : null });
    const reported = execution(cycle, T1, failure);
    expect(reported).toMatchObject({ activityIdentifier: 'c', state, timeBegan: T0, timeEnded: T1 });
    expect(reported.error?.code ?? null).toBe(code);
    if (page.escrowed) expect(reported.error?.message).toMatch(/1 object was not provisioned.*userName already exists/);
  });
});

