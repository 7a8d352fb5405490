import { describe, expect, it } from 'vitest';
import { findObjectMapping } from '../../functions/domain/mapping/attribute-mapping.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';
import { linkIdsFor, planObject, planPage, type PlanContext, type TypeFlow } from '../../functions/domain/sync-plan.ts';
import type { DirectoryObject } from '../../functions/ports/directory-source.ts';
import { linkId, type ObjectLink } from '../../functions/ports/link-store.ts';

const users = findObjectMapping(scimDefaultSchema, 'User')!;
const groups = findObjectMapping(scimDefaultSchema, 'Group')!;
const flows: Partial<Record<'User' | 'Group', TypeFlow>> = {
  User: { mapping: users.objectMapping, targetObject: users.targetObject, resourceType: 'Users' },
  Group: { mapping: groups.objectMapping, targetObject: groups.targetObject, resourceType: 'Groups' },
};

function user(id: string, attributes: Record<string, unknown> = {}, removed: DirectoryObject['removed'] = null): DirectoryObject {
  return {
    type: 'User',
    id,
    attributes: removed
      ? {}
      : { id, userPrincipalName: `${id}@contoso.example`, displayName: `User ${id}`, mailNickname: id, accountEnabled: true, ...attributes },
    membersAdded: [],
    membersRemoved: [],
    removed,
  };
}

function group(id: string, added: string[] = [], removed: string[] = [], attributes: Record<string, unknown> = { displayName: `Group ${id}` }): DirectoryObject {
  return { type: 'Group', id, attributes: { id, ...attributes }, membersAdded: added, membersRemoved: removed, removed: null };
}

function context(links: ObjectLink[] = []): PlanContext {
  return { flows, links: new Map(links.map((link) => [linkId(link.type, link.sourceId), link])) };
}

function linkFor(object: DirectoryObject, targetId = `t-${object.id}`, members?: string[]): ObjectLink {
  const plan = planObject(object, context());
  if (plan.kind !== 'create') throw new Error(`expected a create plan, got ${plan.kind}`);
  return { type: object.type, sourceId: object.id, targetId, exported: plan.mapped, ...(members ? { members } : {}) };
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

  it('does not newly provision a disabled account', () => {
    expect(planObject(user('u1', { accountEnabled: false }), context()).kind).toBe('skip');
  });

  it('deletes a hard-deleted user that was provisioned, and ignores one that never was', () => {
    const gone = user('u1', {}, 'deleted');
    const plan = planObject(gone, context([linkFor(user('u1'), 'target-1')]));
    expect(plan).toMatchObject({ kind: 'delete', resourceType: 'Users', link: { targetId: 'target-1' } });
    expect(planObject(gone, context()).kind).toBe('skip');
  });

  it('adds and removes group members by their target ids, skipping members already in step', () => {
    const u1 = linkFor(user('u1'), 'T1');
    const u2 = linkFor(user('u2'), 'T2');
    const u3 = linkFor(user('u3'), 'T3');
    const g = linkFor(group('g1'), 'G1', ['u1', 'u3']);
    const plan = planObject(group('g1', ['u1', 'u2'], ['u3']), context([u1, u2, u3, g]));
    expect(plan.kind).toBe('update');
    if (plan.kind !== 'update') return;
    expect(plan.operations).toEqual([]);
    expect(plan.members).toEqual({ add: [{ sourceId: 'u2', targetId: 'T2' }], remove: [{ sourceId: 'u3', targetId: 'T3' }] });
  });

  it('keeps a group whose delta carries only membership as it was exported', () => {
    const g = linkFor(group('g1'), 'G1', []);
    const u1 = linkFor(user('u1'), 'T1');
    const plan = planObject({ ...group('g1', ['u1']), attributes: { id: 'g1' } }, context([g, u1]));
    expect(plan.kind).toBe('update');
    if (plan.kind !== 'update') return;
    expect(plan.operations).toEqual([]);
    expect(plan.members.add).toEqual([{ sourceId: 'u1', targetId: 'T1' }]);
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
});

describe('planPage and linkIdsFor', () => {
  it('plans users before groups', () => {
    const plans = planPage([group('g1'), user('u1')], context());
    expect(plans.map((plan) => plan.object.type)).toEqual(['User', 'Group']);
  });

  it('asks for the links of the objects and of the members they add or remove', () => {
    expect(linkIdsFor([group('g1', ['u1'], ['u2'])])).toEqual([
      { type: 'Group', sourceId: 'g1' },
      { type: 'User', sourceId: 'u1' },
      { type: 'User', sourceId: 'u2' },
    ]);
  });
});
