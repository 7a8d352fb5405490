import type { DirectoryObject, DirectoryObjectType } from '../ports/directory-source.ts';
import { linkId, type Membership, type ObjectLink, type ObjectRef } from '../ports/link-store.ts';
import type { ScimPatchOperation, ScimResourceType } from '../ports/scim-target.ts';
import { inScope } from './mapping/scoping-filter.ts';
import {
  SOFT_DELETED_ATTRIBUTE,
  entraAttributes,
  mapObject,
  matchingAttributes,
  selectedSourceAttributes,
  type MappedObject,
} from './mapping/attribute-mapping.ts';
import type { ObjectDefinition, ObjectMapping } from './mapping/schema.ts';
import { parseFlowTypes } from './mapping/schema.ts';
import { chunks } from './chunks.ts';
import { patchOperations, quoteFilterValue } from './mapping/scim-resource.ts';

/** How one object type flows: its object mapping, target definition and allowed actions. */
export interface TypeFlow {
  mapping: ObjectMapping;
  targetObject?: ObjectDefinition;
  resourceType: ScimResourceType;
}

export interface PlanContext {
  flows: Partial<Record<DirectoryObjectType, TypeFlow>>;
  /** Links of the page's objects (and of the users its groups add or remove). */
  links: ReadonlyMap<string, ObjectLink>;
  /** The `SkipOutOfScopeDeletions` secret: objects leaving scope are left as they are in the target. */
  skipOutOfScopeDeletions?: boolean;
  /**
   * Whether an object is assigned to the application, itself or through a group (`SyncAll` false); absent when
   * every object is (`SyncAll` true). One that is not is out of scope, as a scoping filter would put it.
   */
  entitled?: (object: DirectoryObject) => boolean;
}

export interface MemberRef {
  sourceId: string;
  targetId: string;
}

/**
 * A reference attribute of a user as planned (its manager): the user it names now and before, and that user's
 * account in the target; with none (not provisioned yet, or out of scope) the reference is not sent: it waits.
 */
export interface ReferencePlan {
  /** The mapped key the target id goes under (`…:manager.value`). */
  key: string;
  sourceId: string | null;
  previousSourceId: string | null;
  targetId: string | null;
}

/** A target attribute of type Reference mapped straight from a source attribute (the default `manager`). */
export interface ReferenceAttribute {
  /** The mapped key the target id goes under: the complex attribute's `value`. */
  key: string;
  targetAttributeName: string;
  sourceAttribute: string;
}

const referencesOfFlow = new WeakMap<TypeFlow, ReferenceAttribute[]>();
export function referenceAttributes(flow: TypeFlow | undefined): ReferenceAttribute[] {
  if (!flow) return [];
  let found = referencesOfFlow.get(flow);
  if (!found) {
    found = flow.mapping.attributeMappings.flatMap((mapping) => {
      const definition = flow.targetObject?.attributes.find((attribute) => attribute.name === mapping.targetAttributeName);
      if (definition?.type !== 'Reference' || mapping.source?.type !== 'Attribute') return [];
      const name = mapping.targetAttributeName;
      // An extension's URN has dots of its own (`…:2.0:User:manager`): only the attribute after it may name a sub-attribute.
      const attribute = name.slice(name.lastIndexOf(':') + 1);
      return [{ key: attribute.includes('.') ? name : `${name}.value`, targetAttributeName: name, sourceAttribute: mapping.source.name }];
    });
    referencesOfFlow.set(flow, found);
  }
  return found;
}

/** The users an object's reference attributes name (their links are needed to plan it). */
export function referencedIds(object: DirectoryObject, link: ObjectLink | undefined, flow: TypeFlow | undefined): string[] {
  const source = currentSource(object, link);
  return referenceAttributes(flow).flatMap((reference) => {
    const value = source[reference.sourceAttribute];
    return typeof value === 'string' && value !== '' ? [value] : [];
  });
}

/** Why an object needs nothing from the target (the provisioning logs' skip reasons). */
export type SkipReason =
  | 'notMapped'
  | 'inStep'
  | 'outOfScope'
  | 'notEffectivelyEntitled'
  | 'ignoredByInputFilter'
  | 'disabledNotProvisioned'
  | 'notProvisioned'
  | 'actionNotAllowed';

/** What to do for one object. The executor runs these against the target; the plan itself does no I/O. */
export type ObjectPlan =
  | {
      kind: 'skip';
      object: DirectoryObject;
      reason: SkipReason;
      /** The source attributes as they now stand (a link that is kept records them), when the object is present. */
      source: Record<string, unknown> | null;
      /** Out of scope (a scoping filter, or not assigned): the link, if any, records it. */
      outOfScope?: true;
      references?: ReferencePlan[];
    }
  | {
      kind: 'create';
      object: DirectoryObject;
      resourceType: ScimResourceType;
      mapped: MappedObject;
      /** Target attribute and value to look for an existing account first; null = no matching attribute. */
      match: { attribute: string; value: string } | null;
      /** The next matching attributes, tried in order when the first finds nothing (Entra's precedence). */
      alsoMatch?: { attribute: string; value: string }[];
      source: Record<string, unknown>;
      /**
       * Only link (and bring to the mapped state) an account that already exists; create none. A disabled user is not
       * newly provisioned, but an account of it the target holds (say, a create whose answer was lost) is disabled.
       */
      adoptOnly?: true;
      references?: ReferencePlan[];
    }
  | {
      kind: 'update';
      object: DirectoryObject;
      resourceType: ScimResourceType;
      link: ObjectLink;
      mapped: MappedObject;
      operations: ScimPatchOperation[];
      /** To find or re-create the account should it have vanished from the target. */
      match: { attribute: string; value: string } | null;
      source: Record<string, unknown>;
      /** Deprovisioned for leaving scope: the link records it, so coming back into scope is noticed. */
      outOfScope?: true;
      references?: ReferencePlan[];
    }
  | { kind: 'delete'; object: DirectoryObject; resourceType: ScimResourceType; link: ObjectLink }
  | { kind: 'error'; object: DirectoryObject; message: string };

/** Every matching attribute (by priority) the mapped object has a value for. */
function matchesOf(mapping: ObjectMapping, mapped: MappedObject): { attribute: string; value: string }[] {
  return matchingAttributes(mapping).flatMap((candidate) => {
    const value = mapped[candidate.targetAttributeName];
    return typeof value === 'string' && value !== '' ? [{ attribute: candidate.targetAttributeName, value }] : [];
  });
}

/** The first matching attribute (by priority) the mapped object has a value for. */
export function matchOf(mapping: ObjectMapping, mapped: MappedObject): { attribute: string; value: string } | null {
  for (const candidate of matchingAttributes(mapping)) {
    const value = mapped[candidate.targetAttributeName];
    if (typeof value === 'string' && value !== '') return { attribute: candidate.targetAttributeName, value };
  }
  return null;
}

/** The object's source attributes as they stand: what its entry carries over what its link last recorded. */
export function currentSource(object: DirectoryObject, link: ObjectLink | undefined): Record<string, unknown> {
  return { ...(link?.source ?? {}), ...object.attributes };
}

/**
 * The selected attributes a present object's entry leaves unknown (an update carrying only what changed, for an
 * object without a link to read the rest from). The run reads such objects whole before planning them.
 */
export function missingAttributes(object: DirectoryObject, link: ObjectLink | undefined, flow: TypeFlow | undefined): string[] {
  if (!flow || object.removed !== null) return [];
  const source = currentSource(object, link);
  return readAttributes(flow.mapping).filter((name) => !(name in source));
}

/** The attributes an entry of the mapping's objects carries (a mapping is read once, however many objects). */
const attributesRead = new WeakMap<ObjectMapping, string[]>();
function readAttributes(mapping: ObjectMapping): string[] {
  let names = attributesRead.get(mapping);
  if (!names) {
    names = selectedSourceAttributes(mapping).filter((name) => name !== 'id' && name !== 'members');
    attributesRead.set(mapping, names);
  }
  return names;
}

/**
 * Plans one object against its link (Entra's order: match, create, update only what changed, disable on soft
 * delete or leaving scope, DELETE on hard delete). Membership is planned apart (planMembers). An entry may carry
 * only what changed: it is read over the attributes the link last recorded.
 */
export function planObject(object: DirectoryObject, context: PlanContext): ObjectPlan {
  const flow = context.flows[object.type];
  if (!flow) return { kind: 'skip', object, reason: 'notMapped', source: null };
  const actions = parseFlowTypes(flow.mapping.flowTypes);
  const link = context.links.get(linkId(object.type, object.id));
  const deleteOrSkip = (reason: SkipReason): ObjectPlan =>
    link && actions.has('Delete') ? { kind: 'delete', object, resourceType: flow.resourceType, link } : { kind: 'skip', object, reason, source: null };

  if (object.removed === 'deleted' || (object.removed === 'changed' && object.type === 'Group')) {
    return deleteOrSkip(link ? 'actionNotAllowed' : 'notProvisioned');
  }
  const source = currentSource(object, link);
  const skip = (reason: SkipReason, outOfScope = false): ObjectPlan => ({
    kind: 'skip',
    object,
    reason,
    source: object.removed === null ? source : null,
    ...(outOfScope ? { outOfScope: true as const } : {}),
  });

  let deprovision = object.removed === 'changed';
  let outOfScope = false;
  if (!deprovision) {
    let filtered: ReturnType<typeof scopeOf>;
    try {
      filtered = scopeOf(flow.mapping, object.id, source);
    } catch (error) {
      // A scoping regex that cannot run: the object is reported, neither provisioned nor deprovisioned.
      return { kind: 'error', object, message: (error as Error).message };
    }
    // Input filters decide what is read at all: an object failing them is left alone, never deprovisioned.
    if (filtered === 'ignored') return skip('ignoredByInputFilter');
    const reason: SkipReason | null = context.entitled && !context.entitled(object) ? 'notEffectivelyEntitled' : filtered === 'out' ? 'outOfScope' : null;
    if (reason) {
      // Leaving scope deprovisions: a user is disabled, a group deleted (unless SkipOutOfScopeDeletions).
      if (!link || context.skipOutOfScopeDeletions) return skip(reason, true);
      if (object.type === 'Group') return deleteOrSkip(reason);
      deprovision = true;
      outOfScope = true;
    }
  }
  if (deprovision && !link) return skip('notProvisioned');

  let mapped: MappedObject;
  try {
    mapped = mappedFor(flow, object.id, source, link, deprovision);
  } catch (error) {
    return { kind: 'error', object, message: (error as Error).message };
  }
  const references = deprovision ? [] : resolveReferences(flow, mapped, link, context.links);
  const referenced = references.length > 0 ? { references } : {};

  if (!link) {
    // A disabled account is not newly provisioned (Entra does the same).
    if (!actions.has('Add')) return skip('actionNotAllowed');
    const [match = null, ...alsoMatch] = matchesOf(flow.mapping, mapped);
    const matching = { match, ...(alsoMatch.length > 0 ? { alsoMatch } : {}) };
    if (mapped.active === false) {
      return match ? { kind: 'create', object, resourceType: flow.resourceType, mapped, ...matching, source, adoptOnly: true, ...referenced } : skip('disabledNotProvisioned');
    }
    return { kind: 'create', object, resourceType: flow.resourceType, mapped, ...matching, source, ...referenced };
  }
  const operations = actions.has('Update') ? patchOperations(link.exported as MappedObject, mapped) : [];
  if (operations.length === 0) return { ...skip(actions.has('Update') ? 'inStep' : 'actionNotAllowed', outOfScope), ...referenced };
  const scoped = outOfScope ? { outOfScope: true as const } : {};
  return { kind: 'update', object, resourceType: flow.resourceType, link, mapped, operations, match: matchOf(flow.mapping, mapped), source, ...scoped, ...referenced };
}

/**
 * The target values for an object. A deprovisioned one (soft-deleted, or out of scope) keeps what was exported and
 * takes only the values that `IsSoftDeleted` drives (the schema's own `active` mapping: Entra's way, and removing
 * that mapping means nothing is sent; a link from before sources were recorded falls back to `active: false`).
 * On update, `ObjectAddOnly` values keep what was exported.
 */
function mappedFor(flow: TypeFlow, id: string, source: Record<string, unknown>, link: ObjectLink | undefined, deprovision: boolean): MappedObject {
  const options = { targetObject: flow.targetObject, mode: link ? ('update' as const) : ('add' as const) };
  const map = (softDeleted: boolean) => mapObject(flow.mapping, { ...source, id, [SOFT_DELETED_ATTRIBUTE]: softDeleted }, options);
  const exported = (link?.exported ?? {}) as MappedObject;
  if (deprovision && link) {
    if (Object.keys(link.source).length === 0) return { ...exported, active: false };
    const [present, deleted] = [map(false), map(true)];
    const driven = Object.keys(deleted).filter((key) => JSON.stringify(deleted[key]) !== JSON.stringify(present[key]));
    return { ...exported, ...Object.fromEntries(driven.map((key) => [key, deleted[key]!])) };
  }
  const mapped = map(false);
  if (!link) return mapped;
  const kept: MappedObject = {};
  for (const mapping of flow.mapping.attributeMappings) {
    const value = exported[mapping.targetAttributeName];
    if (mapping.flowType === 'ObjectAddOnly' && value !== undefined) kept[mapping.targetAttributeName] = value;
  }
  return { ...kept, ...mapped };
}

/**
 * Reference attributes name a user by its source id; the target wants its account's id. Mapped to the target id of
 * the named user's link (one in scope), or left out while that user has no account: the reference then waits.
 */
function resolveReferences(flow: TypeFlow, mapped: MappedObject, link: ObjectLink | undefined, links: ReadonlyMap<string, ObjectLink>): ReferencePlan[] {
  return referenceAttributes(flow).map((reference) => {
    const value = mapped[reference.targetAttributeName];
    delete mapped[reference.targetAttributeName];
    const sourceId = typeof value === 'string' && value !== '' ? value : null;
    const named = sourceId === null ? undefined : links.get(linkId('User', sourceId));
    const targetId = named && !named.outOfScope ? named.targetId : null;
    if (targetId !== null) mapped[reference.key] = targetId;
    const previous = link?.source?.[reference.sourceAttribute];
    return { key: reference.key, sourceId, previousSourceId: typeof previous === 'string' && previous !== '' ? previous : null, targetId };
  });
}

/** Where an object stands against its mapping's scoping filter. */
function scopeOf(mapping: ObjectMapping, id: string, source: Record<string, unknown>): 'in' | 'out' | 'ignored' {
  const scope = mapping.scope;
  if (!scope) return 'in';
  const attributes = entraAttributes({ ...source, id });
  if (!inScope({ groups: scope.inputFilterGroups, inputFilterGroups: [], categoryFilterGroups: [] }, attributes)) return 'ignored';
  return inScope({ ...scope, inputFilterGroups: [] }, attributes) ? 'in' : 'out';
}

/** The link keys a page needs loaded before it can be planned: its objects and the users its groups name. */
export function linkIdsFor(objects: DirectoryObject[]): ObjectRef[] {
  const ids: ObjectRef[] = objects.map((object) => ({ type: object.type, sourceId: object.id }));
  for (const object of objects) {
    for (const member of [...object.membersAdded, ...object.membersRemoved]) ids.push({ type: 'User', sourceId: member });
  }
  return ids;
}

/** A group's member changes as the target should see them, and the membership records that follow. */
export interface MemberPlan {
  add: MemberRef[];
  remove: MemberRef[];
  /** Records to write, as they stand once the requests above succeed. */
  put: Membership[];
  /** Records to delete once the requests above succeed. */
  drop: string[];
}

/**
 * Plans a linked group's membership changes against what is recorded. A member whose user is not linked (not yet
 * created, escrowed, out of scope) is recorded as `add`, and added once the user is linked. A member removed in the
 * directory is removed from the target only if the target has it. `stampAll` re-records members already present
 * (a full round stamps everything it reads).
 */
export function planMembers(input: {
  groupId: string;
  added: readonly string[];
  removed: readonly string[];
  recorded: ReadonlyMap<string, Membership>;
  userTarget: (userId: string) => string | undefined;
  at: string;
  stampAll: boolean;
}): MemberPlan {
  const plan: MemberPlan = { add: [], remove: [], put: [], drop: [] };
  for (const userId of new Set(input.added)) {
    const known = input.recorded.get(userId);
    if (known?.state === 'present') {
      if (input.stampAll) plan.put.push({ ...known, seenAt: input.at });
      continue;
    }
    const targetId = input.userTarget(userId);
    if (targetId) plan.add.push({ sourceId: userId, targetId });
    plan.put.push({ groupId: input.groupId, userId, state: targetId ? 'present' : 'add', seenAt: input.at });
  }
  for (const userId of new Set(input.removed)) {
    const known = input.recorded.get(userId);
    if (!known) continue;
    const targetId = known.state === 'add' ? undefined : input.userTarget(userId);
    if (targetId) plan.remove.push({ sourceId: userId, targetId });
    plan.drop.push(userId);
  }
  return plan;
}

/** The most member values one PATCH carries (some targets refuse larger ones). */
export const MEMBERS_PER_PATCH = 50;

/** One PATCH of member changes: the members it carries and its operations. */
export interface MemberRequest {
  kind: 'add' | 'remove';
  members: MemberRef[];
  operations: ScimPatchOperation[];
}

/**
 * Member changes as PATCH requests of at most {@link MEMBERS_PER_PATCH} members: adds as one `add` of values,
 * removals as `members[value eq "…"]` paths (RFC 7644 §3.5.2.2), adds first.
 */
export function memberRequests(members: { add: readonly MemberRef[]; remove: readonly MemberRef[] }): MemberRequest[] {
  return [
    ...chunks(members.add, MEMBERS_PER_PATCH).map((batch) => ({
      kind: 'add' as const,
      members: batch,
      operations: [{ op: 'add' as const, path: 'members', value: batch.map((member) => ({ value: member.targetId })) }],
    })),
    ...chunks(members.remove, MEMBERS_PER_PATCH).map((batch) => ({
      kind: 'remove' as const,
      members: batch,
      operations: batch.map((member) => ({ op: 'remove' as const, path: `members[value eq ${quoteFilterValue(member.targetId)}]` })),
    })),
  ];
}
