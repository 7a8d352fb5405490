import type { DirectoryObject, DirectoryObjectType } from '../ports/directory-source.ts';
import { linkId, type ObjectLink } from '../ports/link-store.ts';
import type { ScimPatchOperation, ScimResourceType } from '../ports/scim-target.ts';
import { inScope } from './mapping/scoping-filter.ts';
import {
  SOFT_DELETED_ATTRIBUTE,
  entraAttributes,
  mapObject,
  matchingAttributes,
  type MappedObject,
} from './mapping/attribute-mapping.ts';
import type { ObjectDefinition, ObjectMapping } from './mapping/schema.ts';
import { parseFlowTypes } from './mapping/schema.ts';
import { patchOperations } from './mapping/scim-resource.ts';

/** How one object type flows: its object mapping, target definition and allowed actions. */
export interface TypeFlow {
  mapping: ObjectMapping;
  targetObject?: ObjectDefinition;
  resourceType: ScimResourceType;
}

export interface PlanContext {
  flows: Partial<Record<DirectoryObjectType, TypeFlow>>;
  /** Links of the page's objects and of the users its groups add or remove. */
  links: ReadonlyMap<string, ObjectLink>;
  /** The `SkipOutOfScopeDeletions` secret: objects leaving scope are left as they are in the target. */
  skipOutOfScopeDeletions?: boolean;
}

export interface MemberRef {
  sourceId: string;
  targetId: string;
}

/** What to do for one object. The executor runs these against the target; the plan itself does no I/O. */
export type ObjectPlan =
  | { kind: 'skip'; object: DirectoryObject }
  | {
      kind: 'create';
      object: DirectoryObject;
      resourceType: ScimResourceType;
      mapped: MappedObject;
      /** Target attribute and value to look for an existing account first; null = no matching attribute. */
      match: { attribute: string; value: string } | null;
      members: { add: MemberRef[]; remove: MemberRef[] };
    }
  | {
      kind: 'update';
      object: DirectoryObject;
      resourceType: ScimResourceType;
      link: ObjectLink;
      mapped: MappedObject;
      operations: ScimPatchOperation[];
      members: { add: MemberRef[]; remove: MemberRef[] };
      /** To find or re-create the account should it have vanished from the target. */
      match: { attribute: string; value: string } | null;
    }
  | { kind: 'delete'; object: DirectoryObject; resourceType: ScimResourceType; link: ObjectLink }
  | { kind: 'error'; object: DirectoryObject; message: string };

function resolveMembers(object: DirectoryObject, link: ObjectLink | undefined, links: ReadonlyMap<string, ObjectLink>) {
  const present = new Set(link?.members ?? []);
  const target = (sourceId: string) => links.get(linkId('User', sourceId))?.targetId;
  const add = object.membersAdded
    .filter((sourceId) => !present.has(sourceId))
    .flatMap((sourceId) => {
      const targetId = target(sourceId);
      return targetId ? [{ sourceId, targetId }] : [];
    });
  const remove = object.membersRemoved
    .filter((sourceId) => present.has(sourceId))
    .flatMap((sourceId) => {
      const targetId = target(sourceId);
      return targetId ? [{ sourceId, targetId }] : [];
    });
  return { add, remove };
}

function firstMatch(mapping: ObjectMapping, mapped: MappedObject): { attribute: string; value: string } | null {
  for (const candidate of matchingAttributes(mapping)) {
    const value = mapped[candidate.targetAttributeName];
    if (typeof value === 'string' && value !== '') return { attribute: candidate.targetAttributeName, value };
  }
  return null;
}

/**
 * Plans one object against its link (Entra's order: match, create, update only what changed, disable on soft
 * delete, DELETE on hard delete). An object whose mapped values equal what was last exported plans nothing.
 */
export function planObject(object: DirectoryObject, context: PlanContext): ObjectPlan {
  const flow = context.flows[object.type];
  if (!flow) return { kind: 'skip', object };
  const actions = parseFlowTypes(flow.mapping.flowTypes);
  const link = context.links.get(linkId(object.type, object.id));

  if (object.removed === 'deleted' || (object.removed === 'changed' && object.type === 'Group')) {
    return link && actions.has('Delete') ? { kind: 'delete', object, resourceType: flow.resourceType, link } : { kind: 'skip', object };
  }

  const scope = object.removed === null && Object.keys(object.attributes).length > 1 ? scopeOf(flow.mapping, object) : 'in';
  // Input filters decide what is read at all: an object failing them is left alone, never deprovisioned.
  if (scope === 'ignored') return { kind: 'skip', object };
  if (scope === 'out') {
    // Leaving scope deprovisions: a user is disabled, a group deleted (unless SkipOutOfScopeDeletions).
    if (!link || context.skipOutOfScopeDeletions) return { kind: 'skip', object };
    if (object.type === 'Group') {
      return actions.has('Delete') ? { kind: 'delete', object, resourceType: flow.resourceType, link } : { kind: 'skip', object };
    }
  }

  let mapped: MappedObject;
  try {
    if (scope === 'out') {
      mapped = { ...link!.exported, active: false };
    } else if (object.removed === 'changed') {
      // Soft delete: the delta carries only the id, so disable what was exported.
      if (!link) return { kind: 'skip', object };
      mapped = { ...link.exported, active: false };
    } else if (Object.keys(object.attributes).length <= 1 && link) {
      // A membership-only change: the object's own attributes did not come with it.
      mapped = link.exported as MappedObject;
    } else {
      mapped = mapObject(flow.mapping, { ...object.attributes, [SOFT_DELETED_ATTRIBUTE]: false }, {
        targetObject: flow.targetObject,
        mode: link ? 'update' : 'add',
      });
    }
  } catch (error) {
    return { kind: 'error', object, message: (error as Error).message };
  }

  const members = object.type === 'Group' ? resolveMembers(object, link, context.links) : { add: [], remove: [] };
  if (!link) {
    // A disabled account is not newly provisioned (Entra does the same).
    if (!actions.has('Add') || mapped.active === false) return { kind: 'skip', object };
    return { kind: 'create', object, resourceType: flow.resourceType, mapped, match: firstMatch(flow.mapping, mapped), members };
  }
  const operations = actions.has('Update') ? patchOperations(link.exported as MappedObject, mapped) : [];
  if (operations.length === 0 && members.add.length === 0 && members.remove.length === 0) return { kind: 'skip', object };
  return { kind: 'update', object, resourceType: flow.resourceType, link, mapped, operations, members, match: firstMatch(flow.mapping, mapped) };
}

/** Where an object stands against its mapping's scoping filter. */
function scopeOf(mapping: ObjectMapping, object: DirectoryObject): 'in' | 'out' | 'ignored' {
  const scope = mapping.scope;
  if (!scope) return 'in';
  const attributes = entraAttributes(object.attributes);
  if (!inScope({ groups: scope.inputFilterGroups, inputFilterGroups: [], categoryFilterGroups: [] }, attributes)) return 'ignored';
  return inScope({ ...scope, inputFilterGroups: [] }, attributes) ? 'in' : 'out';
}

/** Users before groups, so a group's members are linked before its membership is written. */
export function planPage(objects: DirectoryObject[], context: PlanContext): ObjectPlan[] {
  const ordered = [...objects.filter((o) => o.type === 'User'), ...objects.filter((o) => o.type === 'Group')];
  return ordered.map((object) => planObject(object, context));
}

/** The link keys a page needs loaded before it can be planned. */
export function linkIdsFor(objects: DirectoryObject[]): { type: DirectoryObjectType; sourceId: string }[] {
  const ids = objects.map((object) => ({ type: object.type, sourceId: object.id }));
  for (const object of objects) {
    for (const member of [...object.membersAdded, ...object.membersRemoved]) ids.push({ type: 'User', sourceId: member });
  }
  return ids;
}

/** The most member values one PATCH carries (some targets refuse larger ones). */
const MEMBERS_PER_PATCH = 50;

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

/** Member changes as PATCH requests: adds as one `add` of values, removals as `members[value eq "…"]` paths. */
export function memberOperations(members: { add: { targetId: string }[]; remove: { targetId: string }[] }): ScimPatchOperation[][] {
  const adds = chunks(members.add, MEMBERS_PER_PATCH).map((batch) => [
    { op: 'add' as const, path: 'members', value: batch.map((member) => ({ value: member.targetId })) },
  ]);
  const removes = chunks(members.remove, MEMBERS_PER_PATCH).map((batch) =>
    batch.map((member) => ({ op: 'remove' as const, path: `members[value eq "${member.targetId}"]` })),
  );
  return [...adds, ...removes];
}
