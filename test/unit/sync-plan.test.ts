import { beforeAll, describe, expect, it } from 'vitest';
import { findObjectMapping, selectedSourceAttributes } from '../../functions/domain/mapping/attribute-mapping.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';
import {
  linkIdsFor,
  memberRequests,
  missingAttributes,
  planMembers,
  planObject,
  type PlanContext,
  type TypeFlow,
} from '../../functions/domain/sync-plan.ts';
import type { DirectoryObject } from '../../functions/ports/directory-source.ts';
import { linkId, type Membership, type ObjectLink } from '../../functions/ports/link-store.ts';
import { loadRegexEngine } from '../../functions/domain/mapping/tenant-regex.ts';

// The engine is loaded on first need (tenant-regex.ts); these tests compile patterns directly.
beforeAll(() => loadRegexEngine());

const users = findObjectMapping(scimDefaultSchema, 'User')!;
const groups = findObjectMapping(scimDefaultSchema, 'Group')!;
const flows: Partial<Record<'User' | 'Group', TypeFlow>> = {
  User: { mapping: users.objectMapping, targetObject: users.targetObject, resourceType: 'Users' },
  Group: { mapping: groups.objectMapping, targetObject: groups.targetObject, resourceType: 'Groups' },
};
const T = '2026-03-02T10:00:00.000Z';

// Fixtures have exactly the shape the Graph adapter produces: `id` beside the attributes, never inside them, and a
// whole entry carries every selected property (null when unset).
const unset = (mapping: TypeFlow['mapping']) =>
  Object.fromEntries(selectedSourceAttributes(mapping).filter((name) => name !== 'id' && name !== 'members').map((name) => [name, null]));

function user(id: string, attributes: Record<string, unknown> = {}, removed: DirectoryObject['removed'] = null): DirectoryObject {
  return {
    type: 'User',
    id,
    attributes: removed
      ? {}
      : { ...unset(users.objectMapping), userPrincipalName: `${id}@contoso.example`, displayName: `User ${id}`, mailNickname: id, accountEnabled: true, ...attributes },
    membersAdded: [],
    membersRemoved: [],
    removed,
  };
}

function group(id: string, added: string[] = [], removed: string[] = [], attributes: Record<string, unknown> = { displayName: `Group ${id}` }): DirectoryObject {
  return { type: 'Group', id, attributes, membersAdded: added, membersRemoved: removed, removed: null };
}

function context(links: ObjectLink[] = []): PlanContext {
  return { flows, links: new Map(links.map((link) => [linkId(link.type, link.sourceId), link])) };
}

/** The link a create of `object` leaves behind, as the applier records it. */
function linkFor(object: DirectoryObject, targetId = `t-${object.id}`): ObjectLink {
  const plan = planObject(object, context());
  if (plan.kind !== 'create') throw new Error(`expected a create plan, got ${plan.kind}`);
  return { type: object.type, sourceId: object.id, targetId, exported: plan.mapped, source: plan.source, seenAt: T };
}

describe('planObject', () => {
  it('creates an unknown user, matching on userName, with active true', () => {
    const plan = planObject(user('u1'), context());
    expect(plan.kind).toBe('create');
    if (plan.kind !== 'create') return;
    expect(plan.resourceType).toBe('Users');
    expect(plan.match).toEqual({ attribute: 'userName', value: 'u1@contoso.example' });
    expect(plan.mapped).toMatchObject({ userName: 'u1@contoso.example', active: true, externalId: 'u1', displayName: 'User u1' });
  });

  it('plans nothing for an object whose mapped values equal what was exported', () => {
    const object = user('u1');
    expect(planObject(object, context([linkFor(object)])).kind).toBe('skip');
  });

  it('patches only the attributes that changed', () => {
    const before = user('u1');
    const plan = planObject(user('u1', { jobTitle: 'CTO' }), context([linkFor(before)]));
    expect(plan.kind).toBe('update');
    if (plan.kind !== 'update') return;
    expect(plan.operations).toEqual([{ op: 'replace', path: 'title', value: 'CTO' }]);
  });

  it.each([
    ['a disabled account', user('u1', { accountEnabled: false })],
    ['a soft delete', user('u1', {}, 'changed')],
  ])('disables a provisioned user on %s', (_name, object) => {
    const plan = planObject(object, context([linkFor(user('u1'))]));
    expect(plan.kind).toBe('update');
    if (plan.kind !== 'update') return;
    expect(plan.operations).toEqual([{ op: 'replace', path: 'active', value: false }]);
  });

  it('does not newly provision a disabled account, but would disable an account the target already has of it', () => {
    expect(planObject(user('u1', { accountEnabled: false }), context())).toMatchObject({ kind: 'create', adoptOnly: true, mapped: { active: false } });
  });

  it('deletes a hard-deleted user that was provisioned, and ignores one that never was', () => {
    const gone = user('u1', {}, 'deleted');
    const plan = planObject(gone, context([linkFor(user('u1'), 'target-1')]));
    expect(plan).toMatchObject({ kind: 'delete', resourceType: 'Users', link: { targetId: 'target-1' } });
    expect(planObject(gone, context()).kind).toBe('skip');
  });

  it('renames a group whose entry carries only the new name, and keeps its externalId', () => {
    const link = linkFor(group('g1'));
    expect(link.exported).toMatchObject({ displayName: 'Group g1', externalId: 'g1' });
    const plan = planObject(group('g1', [], [], { displayName: 'Renamed' }), context([link]));
    expect(plan.kind === 'update' && plan.operations).toEqual([{ op: 'replace', path: 'displayName', value: 'Renamed' }]);
  });

  it('plans nothing of its own for a group whose entry carries only membership', () => {
    const link = linkFor(group('g1'));
    expect(planObject(group('g1', ['u1'], [], {}), context([link]))).toMatchObject({ kind: 'skip', reason: 'inStep' });
  });

  it('reads an update carrying only what changed over what the link recorded', () => {
    const link = linkFor(user('u1', { jobTitle: 'Engineer', department: 'Sales' }));
    const partial: DirectoryObject = { ...user('u1'), attributes: { jobTitle: 'CTO' } };
    const plan = planObject(partial, context([link]));
    expect(plan.kind === 'update' && plan.operations).toEqual([{ op: 'replace', path: 'title', value: 'CTO' }]);
    expect(plan.kind === 'update' && plan.source).toMatchObject({ jobTitle: 'CTO', department: 'Sales', userPrincipalName: 'u1@contoso.example' });
    expect(missingAttributes(partial, link, flows.User)).toEqual([]);
    // Without a link there is nothing to read it over: the run reads such an object whole first.
    expect(missingAttributes(partial, undefined, flows.User)).toContain('userPrincipalName');
  });

  it('clears a value the directory cleared (null)', () => {
    const link = linkFor(user('u1', { jobTitle: 'Engineer' }));
    const plan = planObject({ ...user('u1'), attributes: { jobTitle: null } }, context([link]));
    expect(plan.kind === 'update' && plan.operations).toEqual([{ op: 'remove', path: 'title' }]);
  });

  it('escrows an object whose mapping cannot be evaluated', () => {
    const plan = planObject(user('u1', { accountEnabled: 'maybe' }), context());
    expect(plan.kind).toBe('error');
  });

  it('skips object types the schema does not map', () => {
    expect(planObject(user('u1'), { flows: { Group: flows.Group }, links: new Map() }).kind).toBe('skip');
  });
});

describe('planObject with a scoping filter', () => {
  const clause = (operatorName: string, values: string[]) => ({ sourceOperandName: 'department', operatorName, targetOperand: { values } });
  function scopedFlows(groups: unknown[], inputFilterGroups: unknown[] = []) {
    const scope = { groups, inputFilterGroups, categoryFilterGroups: [] } as never;
    return {
      User: { ...flows.User!, mapping: { ...flows.User!.mapping, scope } },
      Group: { ...flows.Group!, mapping: { ...flows.Group!.mapping, scope: { groups: [{ name: 'g', clauses: [{ sourceOperandName: 'displayName', operatorName: 'EQUALS', targetOperand: { values: ['Kept'] } }] }], inputFilterGroups: [], categoryFilterGroups: [] } as never } },
    };
  }
  const sales = [{ name: 'sales', clauses: [clause('EQUALS', ['Sales'])] }];

  it('creates users in scope and skips the others', () => {
    const context = { flows: scopedFlows(sales), links: new Map() };
    expect(planObject(user('u1', { department: 'Sales' }), context).kind).toBe('create');
    expect(planObject(user('u2', { department: 'Legal' }), context).kind).toBe('skip');
  });

  it('disables a provisioned user that left scope, unless SkipOutOfScopeDeletions', () => {
    const link = linkFor(user('u1', { department: 'Sales' }));
    const context = { flows: scopedFlows(sales), links: new Map([[linkId('User', 'u1'), link]]) };
    const plan = planObject(user('u1', { department: 'Legal' }), context);
    expect(plan.kind === 'update' && plan.operations).toEqual([{ op: 'replace', path: 'active', value: false }]);
    expect(planObject(user('u1', { department: 'Legal' }), { ...context, skipOutOfScopeDeletions: true }).kind).toBe('skip');
  });

  it('does not create a group out of scope (its entry as the adapter gives it: displayName only)', () => {
    const context = { flows: scopedFlows(sales), links: new Map() };
    expect(planObject(group('g1', [], [], { displayName: 'Other' }), context)).toMatchObject({ kind: 'skip', reason: 'outOfScope' });
    expect(planObject(group('g2', [], [], { displayName: 'Kept' }), context).kind).toBe('create');
  });

  it('deletes a provisioned group that left scope', () => {
    const link = linkFor(group('g1', [], [], { displayName: 'Kept' }));
    const context = { flows: scopedFlows(sales), links: new Map([[linkId('Group', 'g1'), link]]) };
    expect(planObject(group('g1', [], [], { displayName: 'Renamed' }), context).kind).toBe('delete');
  });

  it('leaves alone, without deprovisioning, what fails an input filter', () => {
    const link = linkFor(user('u1', { department: 'Sales' }));
    const context = { flows: scopedFlows([], [{ name: 'read', clauses: [clause('NOT_EQUALS', ['Contractors'])] }]), links: new Map([[linkId('User', 'u1'), link]]) };
    expect(planObject(user('u1', { department: 'Contractors' }), context).kind).toBe('skip');
  });

  it('reports a provisioned user whose stored scoping regex cannot run, rather than deprovisioning it', () => {
    const link = linkFor(user('u1', { department: 'Sales' }));
    const context = { flows: scopedFlows([{ name: 'g', clauses: [clause('NOT_REGEX_MATCH', ['^(?!Sales)'])] }]), links: new Map([[linkId('User', 'u1'), link]]) };
    expect(planObject(user('u1', { department: 'Sales' }), context)).toMatchObject({ kind: 'error', message: expect.stringMatching(/invalid regular expression "\^\(\?!Sales\)": it uses a lookahead/) });
  });
});

describe('planObject with assignment scope (SyncAll false)', () => {
  const assigned = new Set(['u1', 'g1']);
  const entitled = (object: DirectoryObject) => assigned.has(object.id);

  it('creates what is assigned and skips the rest as not effectively entitled, recording it as out of scope', () => {
    expect(planObject(user('u1'), { ...context(), entitled }).kind).toBe('create');
    expect(planObject(user('u2'), { ...context(), entitled })).toMatchObject({ kind: 'skip', reason: 'notEffectivelyEntitled', outOfScope: true });
    expect(planObject(group('g2'), { ...context(), entitled })).toMatchObject({ kind: 'skip', reason: 'notEffectivelyEntitled' });
  });

  it('disables a provisioned user that was unassigned, and leaves it alone with SkipOutOfScopeDeletions', () => {
    const link = linkFor(user('u2'));
    const plan = planObject(user('u2'), { ...context([link]), entitled });
    expect(plan).toMatchObject({ kind: 'update', outOfScope: true, operations: [{ op: 'replace', path: 'active', value: false }] });
    expect(planObject(user('u2'), { ...context([link]), entitled, skipOutOfScopeDeletions: true })).toMatchObject({ kind: 'skip', outOfScope: true });
  });

  it('enables again a user assigned again, and the link no longer says out of scope', () => {
    const link = linkFor(user('u1'));
    const disabled = { ...link, exported: { ...link.exported, active: false }, outOfScope: true };
    const plan = planObject(user('u1'), { ...context([disabled]), entitled });
    expect(plan).toMatchObject({ kind: 'update', operations: [{ op: 'replace', path: 'active', value: true }] });
    expect(plan).not.toHaveProperty('outOfScope');
  });

  it('deletes a provisioned group that was unassigned; scoping filters still apply to what is assigned', () => {
    expect(planObject(group('g2'), { ...context([linkFor(group('g2'))]), entitled }).kind).toBe('delete');
    expect(planObject(user('u1', { accountEnabled: false }), { ...context(), entitled })).toMatchObject({ kind: 'create', adoptOnly: true });
  });
});

describe('linkIdsFor', () => {
  it('asks for the links of the objects and of the members they add or remove', () => {
    expect(linkIdsFor([group('g1', ['u1'], ['u2'])])).toEqual([
      { type: 'Group', sourceId: 'g1' },
      { type: 'User', sourceId: 'u1' },
      { type: 'User', sourceId: 'u2' },
    ]);
  });
});

describe('planMembers', () => {
  const record = (userId: string, state: Membership['state'] = 'present'): [string, Membership] => [userId, { groupId: 'g1', userId, state, seenAt: T }];
  const targets: Record<string, string> = { u1: 'T1', u2: 'T2', u3: 'T3' };
  const plan = (added: string[], removed: string[], recorded: [string, Membership][], stampAll = false) =>
    planMembers({ groupId: 'g1', added, removed, recorded: new Map(recorded), userTarget: (id) => targets[id], at: 'now', stampAll });

  it('adds members by their target ids and removes only what the target has', () => {
    expect(plan(['u1', 'u2'], ['u3', 'u9'], [record('u1'), record('u3')])).toEqual({
      add: [{ sourceId: 'u2', targetId: 'T2' }],
      remove: [{ sourceId: 'u3', targetId: 'T3' }],
      put: [{ groupId: 'g1', userId: 'u2', state: 'present', seenAt: 'now' }],
      drop: ['u3'],
    });
  });

  it('records a member whose user is not linked yet as waiting, and drops it unsent when it leaves', () => {
    expect(plan(['u7'], [], [])).toMatchObject({ add: [], put: [{ userId: 'u7', state: 'add' }] });
    expect(plan([], ['u7'], [record('u7', 'add')])).toMatchObject({ remove: [], drop: ['u7'] });
  });

  it('stamps members already present when a full round reads them', () => {
    expect(plan(['u1'], [], [record('u1')], true)).toMatchObject({ add: [], put: [{ userId: 'u1', state: 'present', seenAt: 'now' }] });
    expect(plan(['u1'], [], [record('u1')], false).put).toEqual([]);
  });
});

describe('memberRequests', () => {
  it('sends additions as one add of values and removals as escaped filtered paths, 50 members per request', () => {
    const add = Array.from({ length: 51 }, (_, i) => ({ sourceId: `s${i}`, targetId: `a${i}` }));
    const requests = memberRequests({ add, remove: [{ sourceId: 'r', targetId: 'r"1' }] });
    expect(requests.map((request) => [request.kind, request.members.length])).toEqual([['add', 50], ['add', 1], ['remove', 1]]);
    expect(requests[0]!.operations).toEqual([{ op: 'add', path: 'members', value: add.slice(0, 50).map((m) => ({ value: m.targetId })) }]);
    expect(requests[2]!.operations).toEqual([{ op: 'remove', path: 'members[value eq "r\\"1"]' }]);
  });

  it('sends nothing when nothing changes', () => {
    expect(memberRequests({ add: [], remove: [] })).toEqual([]);
  });
});
