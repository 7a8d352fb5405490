import { describe, expect, it } from 'vitest';
import { countPage, execution, newCycle } from '../../functions/domain/run-cycle.ts';
import { memberOperations } from '../../functions/domain/sync-plan.ts';
import type { DirectoryObject } from '../../functions/ports/directory-source.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const T1 = '2026-03-02T10:01:00.000Z';

function object(type: 'User' | 'Group', removed: DirectoryObject['removed'] = null, members = 0): DirectoryObject {
  return { type, id: `${type}-${Math.random()}`, attributes: {}, membersAdded: Array.from({ length: members }, (_, i) => `m${i}`), membersRemoved: [], removed };
}

describe('run cycle bookkeeping', () => {
  it('adds pages up: imports, deltas only outside a full round, references, entitled, exports', () => {
    const objects = [object('User'), object('User', 'deleted'), object('Group', null, 3)];
    const full = countPage(newCycle('a', T0, true), objects, { exports: 2, exported: 1, escrowed: 1 });
    expect(full).toMatchObject({ pages: 1, countImported: 3, countImportedDeltas: 0, countImportedReferenceDeltas: 3, countEntitled: 2, countExports: 2, countExported: 1, countEscrowed: 1 });
    const incremental = countPage(countPage(newCycle('b', T0, false), objects, { exports: 0, exported: 0, escrowed: 0 }), objects, { exports: 0, exported: 0, escrowed: 0 });
    expect(incremental).toMatchObject({ pages: 2, countImported: 6, countImportedDeltas: 6 });
  });

  it.each([
    [{ exports: 1, exported: 1, escrowed: 0 }, null, 'Succeeded'],
    [{ exports: 2, exported: 1, escrowed: 1 }, null, 'EntryLevelErrors'],
    [{ exports: 0, exported: 0, escrowed: 0 }, { code: 'TargetUnavailable', message: 'x', tenantActionable: true }, 'Failed'],
  ] as const)('reports %j with error %j as %s', (page, error, state) => {
    const cycle = countPage(newCycle('c', T0, false), [object('User')], page);
    expect(execution(cycle, T1, error)).toMatchObject({ activityIdentifier: 'c', state, timeBegan: T0, timeEnded: T1, error });
  });
});

describe('memberOperations', () => {
  it('sends additions as one add of values and removals as filtered paths, 50 members per request', () => {
    const add = Array.from({ length: 51 }, (_, i) => ({ targetId: `a${i}` }));
    const requests = memberOperations({ add, remove: [{ targetId: 'r1' }] });
    expect(requests).toHaveLength(3);
    expect(requests[0]).toEqual([{ op: 'add', path: 'members', value: add.slice(0, 50).map((m) => ({ value: m.targetId })) }]);
    expect(requests[1]).toEqual([{ op: 'add', path: 'members', value: [{ value: 'a50' }] }]);
    expect(requests[2]).toEqual([{ op: 'remove', path: 'members[value eq "r1"]' }]);
  });

  it('sends nothing when nothing changes', () => {
    expect(memberOperations({ add: [], remove: [] })).toEqual([]);
  });
});
