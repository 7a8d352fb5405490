import { isDestructive } from '../../domain/accidental-deletions.ts';
import type { AssignmentScope } from '../../domain/assignment-scope.ts';
import { escrowAfterRefusal } from '../../domain/escrow-policy.ts';
import type { AppliedCounts } from '../../domain/run-cycle.ts';
import {
  linkIdsFor,
  matchOf,
  memberRequests,
  missingAttributes,
  planMembers,
  referenceAttributes,
  referencedIds,
  planObject,
  type ObjectPlan,
  type PlanContext,
  type SkipReason,
} from '../../domain/sync-plan.ts';
import { SourceUnavailableError, type DirectoryObject } from '../../ports/directory-source.ts';
import type { CreateIntentStore } from '../../ports/create-intents.ts';
import type { EscrowStore } from '../../ports/escrow-store.ts';
import {
  linkId,
  type LinkScope,
  type LinkStore,
  type Membership,
  type MembershipStore,
  type ObjectLink,
  type ObjectRef,
} from '../../ports/link-store.ts';
import { ScimRequestError, type TargetExchange } from '../../ports/scim-target.ts';
import type { Reference, ReferenceStore } from '../../ports/reference-store.ts';
import { patchOperations } from '../../domain/mapping/scim-resource.ts';
import { valueChanges, type LoggedOutcome } from '../../domain/provisioning-records.ts';
import type { MappedObject } from '../../domain/mapping/attribute-mapping.ts';
import { applyObjectPlan, createOrAdopt, pool, removeMembersBeyond, type CreatePlan } from '../apply-plan.ts';
import type { Connection } from '../connection.ts';
import type { TargetMatcher } from '../target-matcher.ts';

export interface PageApplierDeps {
  links: LinkStore;
  memberships: MembershipStore;
  escrows: EscrowStore;
  intents: CreateIntentStore;
  references: ReferenceStore;
  /** Concurrent target requests per job. */
  concurrency: number;
}

/** Where and how one batch of objects is applied. */
export interface ApplyOptions {
  /** Links and memberships (the link generation) and escrows (the escrow generation). */
  scope: { links: LinkScope; escrows: LinkScope };
  connection: Connection;
  matcher: TargetMatcher;
  now: () => string;
  /** A full round: every link and membership read is recorded as seen, changed or not. */
  stampAll: boolean;
  /** A group created here may not come with all its members (it came into scope, or from escrow): read them. */
  readMembersOnCreate: boolean;
  /** Groups read again for an escrow retry: also send the memberships left pending. */
  reconcilePending: boolean;
  /** Some memberships wait for their user: a new user link looks for its groups. */
  pendingMembers: boolean;
  /** Escrows exist: those of objects applied now are cleared. */
  escrowsPending: boolean;
  /** A refusal starts its escrow's count afresh (the failures before were forgotten by a restart `Escrows`). */
  freshEscrows?: boolean;
  intervalMinutes: number;
  /** Whether there is time to start on another object; when not, the batch stops (and is done again later). */
  hasTime: () => boolean;
  /** Called with the batch's deletes and disables before anything is applied; throws to refuse them all. */
  allowDeletes?: (count: number) => void;
  /** Only assigned users and groups are in scope (`SyncAll` false); absent when everything is. */
  assignments?: AssignmentScope;
  /**
   * Links as a read-back of the target found them (`exported` = what it holds), or `gone` from it, planned against
   * in place of the stored ones; saved only once applied, so a run that dies first finds the same drift again.
   */
  readBack?: ReadonlyMap<string, ObjectLink | 'gone'>;
}

/** What became of one object of a batch (provisionOnDemand's steps, the provisioning logs). */
export type ObjectOutcome = LoggedOutcome;

export interface BatchApplied extends AppliedCounts {
  outcomes: ObjectOutcome[];
  /** Every object was handled; false when time ran out first (what was done is saved, the rest is done again). */
  complete: boolean;
  /** A membership was recorded as waiting for its user or group. */
  recordedPending: boolean;
  /** When the earliest escrow this batch wrote is due; null when it wrote none. */
  escrowedUntil: string | null;
  linkDelta: Record<'User' | 'Group', number>;
  /** A link was written that the batch had not read: linkDelta may be off, the counts are to be recounted. */
  linkDeltaUncertain: boolean;
}

type PairKey = string;
const pairKey = (groupId: string, userId: string): PairKey => `${groupId}#${userId}`;
const refOf = (object: DirectoryObject): ObjectRef => ({ type: object.type, sourceId: object.id });

/** A group's membership requests failed in a way that means the group is gone from the target. */
class GroupVanishedError extends Error {}

/** What one batch changes in the job's state, written together at its end (also when it stops early). */
class BatchWork {
  readonly linkPuts = new Map<string, ObjectLink>();
  readonly linkDeletes = new Map<string, ObjectRef>();
  readonly membershipPuts = new Map<PairKey, Membership>();
  readonly membershipDrops = new Map<PairKey, { groupId: string; userId: string }>();
  readonly refused = new Map<string, { ref: ObjectRef; error: string }>();
  readonly referencePuts = new Map<string, Reference>();
  readonly referenceDeletes = new Map<string, Omit<Reference, 'waiting'>>();
  /** Users whose account appeared or went (out of scope, deleted) in this batch: who names them is written again. */
  readonly referencedChanged = new Set<string>();
  /** Of those, users whose account now has another id (provisioned again): who names them holds the old one. */
  readonly moved = new Set<string>();
  readonly done = new Map<string, ObjectRef>();
  readonly outcomes = new Map<string, ObjectOutcome>();
  exports = 0;
  exported = 0;
  deletes = 0;
  recordedPending = false;
  /** The stored state of each membership this batch read: leaving `add` drops its user index. */
  readonly storedStates = new Map<PairKey, Membership['state']>();

  /** Notes memberships as read from the store; returns them. */
  read(records: Membership[]): Membership[] {
    for (const record of records) {
      const key = pairKey(record.groupId, record.userId);
      if (!this.storedStates.has(key)) this.storedStates.set(key, record.state);
    }
    return records;
  }

  /** Memberships whose user index is dropped: they were waiting, and no longer are (or are gone). */
  unindexed(): { groupId: string; userId: string }[] {
    const waited = (key: PairKey) => this.storedStates.get(key) === 'add';
    return [
      ...[...this.membershipPuts].filter(([key, membership]) => waited(key) && membership.state !== 'add').map(([, membership]) => membership),
      ...[...this.membershipDrops].filter(([key]) => waited(key)).map(([, pair]) => pair),
    ];
  }

  /** Where a user's reference (its manager) now stands. */
  reference(holderId: string, plan: { sourceId: string | null; previousSourceId: string | null; targetId: string | null }, wasWaiting: boolean | null): void {
    if (plan.previousSourceId !== null && plan.previousSourceId !== plan.sourceId) {
      const old = { referencedId: plan.previousSourceId, holderId };
      this.referencePuts.delete(`${old.referencedId}#${holderId}`);
      this.referenceDeletes.set(`${old.referencedId}#${holderId}`, old);
    }
    if (plan.sourceId === null) return;
    const waiting = plan.targetId === null;
    if (plan.sourceId === plan.previousSourceId && wasWaiting === waiting) return;
    this.referenceDeletes.delete(`${plan.sourceId}#${holderId}`);
    this.referencePuts.set(`${plan.sourceId}#${holderId}`, { referencedId: plan.sourceId, holderId, waiting });
    if (waiting) this.recordedPending = true;
  }

  putMembership(membership: Membership): void {
    const key = pairKey(membership.groupId, membership.userId);
    this.membershipDrops.delete(key);
    this.membershipPuts.set(key, membership);
    if (membership.state !== 'present') this.recordedPending = true;
  }

  dropMembership(groupId: string, userId: string): void {
    const key = pairKey(groupId, userId);
    this.membershipPuts.delete(key);
    this.membershipDrops.set(key, { groupId, userId });
  }

  refuse(ref: ObjectRef, error: string, exchange?: TargetExchange | null): void {
    this.refused.set(linkId(ref.type, ref.sourceId), { ref, error });
    this.note(ref, { error, ...(exchange ? { exchange } : {}) });
  }

  /** Notes what the plan of an object decided, and the values it changes. */
  noteAction(plan: ObjectPlan, targetId?: string): void {
    const changes = plan.kind === 'create' ? valueChanges({}, plan.mapped) : plan.kind === 'update' ? valueChanges(plan.link.exported as MappedObject, plan.mapped) : [];
    this.note(refOf(plan.object), {
      action: plan.kind,
      ...(plan.kind === 'skip' ? { skipReason: plan.reason } : {}),
      ...(changes.length > 0 ? { changes } : {}),
      ...(targetId ? { targetId } : {}),
    });
  }

  /** Runs one object's work and notes how long it took. */
  async timed(ref: ObjectRef, work: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await work();
    } finally {
      this.note(ref, { durationMs: performance.now() - started });
    }
  }

  /** Adds to what is known of one object's outcome. */
  note(ref: ObjectRef, outcome: Partial<ObjectOutcome>): void {
    const id = linkId(ref.type, ref.sourceId);
    this.outcomes.set(id, { ...(this.outcomes.get(id) ?? { ref, action: 'skip' }), ...outcome });
  }

  finish(ref: ObjectRef): void {
    this.done.set(linkId(ref.type, ref.sourceId), ref);
  }
}

/**
 * Applies a batch of directory objects to the target (a page of a round, an escrow retry, a sweep): plans each
 * against its link, users before groups (a group's members are linked first), memberships against their own
 * records, then saves links, memberships and escrows. A refused object is escrowed; throttling, an unavailable
 * system or the end of the time budget stop the batch after what is in flight, and what was done is saved.
 */
export function makePageApplier(deps: PageApplierDeps) {
  const { links, memberships, escrows, intents, references } = deps;

  /** Objects whose entry leaves attributes unknown (an update of an object without a link) are read whole. */
  async function complete(objects: DirectoryObject[], known: ReadonlyMap<string, ObjectLink>, options: ApplyOptions): Promise<DirectoryObject[]> {
    const partial = objects.filter((object) => missingAttributes(object, known.get(linkId(object.type, object.id)), options.connection.flows[object.type]).length > 0);
    if (partial.length === 0) return objects;
    const read = await options.connection.source.readObjects(partial.map((object) => ({ type: object.type, id: object.id })));
    const whole = new Map(read.map((object) => [linkId(object.type, object.id), object]));
    return objects.map((object) => {
      const fresh = whole.get(linkId(object.type, object.id));
      if (!fresh) return object;
      return fresh.removed === null ? { ...object, attributes: { ...fresh.attributes, ...object.attributes } } : fresh;
    });
  }

  /**
   * Users an assigned group of the batch brings into scope (a member added that is not provisioned, or was put out
   * of scope) or may take out of it (a member removed): they are read whole and planned with the batch.
   */
  async function membersToEvaluate(objects: DirectoryObject[], known: ReadonlyMap<string, ObjectLink>, options: ApplyOptions): Promise<DirectoryObject[]> {
    const assigned = options.assignments?.groups;
    if (!assigned) return [];
    const present = new Set(objects.filter((object) => object.type === 'User').map((object) => object.id));
    const wanted = new Set<string>();
    for (const group of objects) {
      if (group.type !== 'Group' || group.removed !== null || !assigned.has(group.id)) continue;
      for (const userId of group.membersAdded) {
        const link = known.get(linkId('User', userId));
        if (!link || link.outOfScope) wanted.add(userId);
      }
      for (const userId of group.membersRemoved) {
        const link = known.get(linkId('User', userId));
        if (link && !link.outOfScope) wanted.add(userId);
      }
    }
    const ids = [...wanted].filter((id) => !present.has(id));
    return ids.length > 0 ? options.connection.source.readObjects(ids.map((id) => ({ type: 'User' as const, id }))) : [];
  }

  /**
   * Whether each object is assigned (`SyncAll` false): a group itself; a user itself or as a member of an assigned
   * group, by this batch's member changes over the memberships recorded.
   */
  async function entitlement(objects: DirectoryObject[], options: ApplyOptions): Promise<PlanContext['entitled']> {
    const assignments = options.assignments;
    if (!assignments) return undefined;
    const via = new Set<string>();
    const leftGroups = new Map<string, Set<string>>();
    for (const group of objects) {
      if (group.type !== 'Group' || !assignments.groups.has(group.id)) continue;
      for (const userId of group.membersAdded) if (group.removed === null) via.add(userId);
      for (const userId of group.membersRemoved) leftGroups.set(userId, (leftGroups.get(userId) ?? new Set()).add(group.id));
    }
    const undecided = objects.filter((object) => object.type === 'User' && !assignments.users.has(object.id) && !via.has(object.id));
    const pairs = undecided.flatMap((user) => [...assignments.groups].filter((groupId) => !leftGroups.get(user.id)?.has(groupId)).map((groupId) => ({ groupId, userId: user.id })));
    if (pairs.length > 0) {
      for (const record of await memberships.getMany(options.scope.links, pairs)) if (record.state !== 'remove') via.add(record.userId);
    }
    return (object) => (object.type === 'Group' ? assignments.groups.has(object.id) : assignments.users.has(object.id) || via.has(object.id));
  }

  /**
   * Nested groups flattened (a job setting): a group whose members changed, directly or in a group nested in it,
   * and every provisioned group above it, get as member changes the difference between their users at any depth
   * and what is recorded. A full round sends them all, to stamp them.
   */
  async function flattened(objects: DirectoryObject[], options: ApplyOptions): Promise<DirectoryObject[]> {
    const { source } = options.connection;
    const changed = objects.filter(
      (object) => object.type === 'Group' && object.removed === null && (object.membersAdded.length > 0 || object.membersRemoved.length > 0 || object.memberGroupsChanged),
    );
    if (changed.length === 0) return objects;
    const onPage = new Set(objects.filter((object) => object.type === 'Group').map((object) => object.id));
    const above = new Set<string>();
    for (const group of changed) for (const ancestor of await source.readAncestors(group.id)) if (!onPage.has(ancestor)) above.add(ancestor);
    const provisioned = [...(await links.getMany(options.scope.links, [...above].map((sourceId) => ({ type: 'Group' as const, sourceId })))).values()];
    const ancestors = provisioned.length > 0 ? await source.readObjects(provisioned.map((link) => ({ type: 'Group' as const, id: link.sourceId }))) : [];
    const flatten = async (group: DirectoryObject): Promise<DirectoryObject> => {
      const members = new Set(await source.readMembers(group.id, { transitive: true }));
      const recorded = new Set<string>();
      let cursor: string | null = null;
      do {
        const page = await memberships.listByGroup(options.scope.links, group.id, cursor, 1000);
        for (const record of page.items) if (record.state !== 'remove') recorded.add(record.userId);
        cursor = page.cursor;
      } while (cursor);
      const removedRecords = [...recorded].filter((userId) => !members.has(userId));
      return { ...group, membersAdded: [...members].filter((userId) => options.stampAll || !recorded.has(userId)), membersRemoved: removedRecords };
    };
    const changedIds = new Set(changed.map((group) => group.id));
    const result: DirectoryObject[] = [];
    for (const object of objects) result.push(changedIds.has(object.id) && object.type === 'Group' ? await flatten(object) : object);
    for (const ancestor of ancestors) if (ancestor.removed === null) result.push(await flatten(ancestor));
    return result;
  }

  return async function apply(batch: DirectoryObject[], options: ApplyOptions): Promise<BatchApplied> {
    const { scope, connection, matcher, now } = options;
    const target = connection.target;
    const input = connection.flattenGroups ? await flattened(batch, options) : batch;
    // Which links this batch read, and whether each was there: a put of one that was not is a new link, a delete of
    // one that was is a link gone (the job's counts follow these, instead of counting the partition every round).
    const linksRead = new Map<string, boolean>();
    const readLinks = async (ids: ObjectRef[]) => {
      const found = await links.getMany(scope.links, ids);
      for (const id of ids) {
        const key = linkId(id.type, id.sourceId);
        if (!linksRead.get(key)) linksRead.set(key, found.has(key));
      }
      return found;
    };
    const known = new Map(await readLinks(linkIdsFor(input)));
    const gone = new Set<string>();
    for (const [id, found] of options.readBack ?? []) {
      const stored = known.get(id);
      if (!stored) continue;
      // Gone: every mapped value is to be sent again, to an account provisioned again.
      known.set(id, found === 'gone' ? { ...stored, exported: {} } : found);
      if (found === 'gone') gone.add(id);
    }
    const joining = await membersToEvaluate(input, known, options);
    for (const [id, link] of await readLinks(linkIdsFor(joining))) known.set(id, link);
    const objects = [...joining, ...(await complete(input, known, options))];
    const userFlow = connection.flows.User;
    const named = objects.flatMap((object) => (object.type === 'User' ? referencedIds(object, known.get(linkId('User', object.id)), userFlow) : []));
    const unknownNamed = [...new Set(named)].filter((id) => !known.has(linkId('User', id))).map((sourceId) => ({ type: 'User' as const, sourceId }));
    if (unknownNamed.length > 0) for (const [id, link] of await readLinks(unknownNamed)) known.set(id, link);
    const context: PlanContext = {
      flows: connection.flows,
      links: known,
      skipOutOfScopeDeletions: connection.skipOutOfScopeDeletions,
      ...(options.assignments ? { entitled: await entitlement(objects, options) } : {}),
    };
    const plans = objects.map((object) => planObject(object, context));
    const work = new BatchWork();
    work.deletes = plans.filter(isDestructive).length;
    // Counted before anything is applied: a batch over the threshold changes nothing in the target.
    options.allowDeletes?.(work.deletes);

    const linkFor = (ref: ObjectRef) => known.get(linkId(ref.type, ref.sourceId));
    const recordLink = (link: ObjectLink) => {
      known.set(linkId(link.type, link.sourceId), link);
      work.linkPuts.set(linkId(link.type, link.sourceId), link);
    };
    const keepLink = (plan: Extract<ObjectPlan, { kind: 'skip' }>) => {
      const link = linkFor(refOf(plan.object));
      if (!link || plan.source === null) return;
      const changed = JSON.stringify(link.source) !== JSON.stringify(plan.source) || Boolean(link.outOfScope) !== Boolean(plan.outOfScope);
      if (changed || options.stampAll) recordLink({ ...link, source: plan.source, seenAt: now(), outOfScope: plan.outOfScope });
    };
    const prepare = async (batch: ObjectPlan[]) => {
      const creates = batch.filter((plan): plan is CreatePlan => plan.kind === 'create' && plan.match !== null);
      const first = creates[0];
      if (first?.match) await matcher.prepare(first.resourceType, first.match.attribute, creates.length);
    };

    /** The groups a user provisioned again belongs to; a directory that will not say leaves them to later changes. */
    async function groupsInDirectory(userId: string): Promise<string[]> {
      try {
        return await connection.source.readMemberOf(userId, { transitive: connection.flattenGroups });
      } catch (error) {
        if (error instanceof SourceUnavailableError && error.tenantActionable) return [];
        throw error;
      }
    }

    // The groups waiting for the batch's new users, looked up once for all of them (a query per user was most of a
    // large initial sync's reads once some membership or reference waited).
    let waitingForCreated: { ids: Set<string>; groups: Promise<Map<string, string[]>> } | null = null;
    async function waitingGroupsOf(userId: string): Promise<string[]> {
      if (!waitingForCreated) {
        const ids = new Set(userPlans.filter((plan) => plan.kind === 'create').map((plan) => plan.object.id));
        waitingForCreated = { ids, groups: memberships.waitingGroupsOfMany(scope.links, [...ids]) };
      }
      if (!waitingForCreated.ids.has(userId)) return memberships.waitingGroupsOf(scope.links, userId);
      return (await waitingForCreated.groups).get(userId) ?? [];
    }

    /**
     * A new user link, or one provisioned again: the groups that wait for it get it now, and a user provisioned
     * again gets back every group the directory has it in.
     */
    async function joinGroups(userId: string, targetId: string, recreated: boolean, formerTargetId: string | null): Promise<void> {
      if (!recreated && !options.pendingMembers) return;
      const groupIds = recreated ? await groupsInDirectory(userId) : await waitingGroupsOf(userId);
      if (groupIds.length === 0) return;
      const records = work.read(await memberships.getMany(scope.links, groupIds.map((groupId) => ({ groupId, userId }))));
      const wanted = records.filter((record) => record.state === 'add' || (recreated && record.state === 'present'));
      if (wanted.length === 0) return;
      const groupLinks = await readLinks(wanted.map((record) => ({ type: 'Group' as const, sourceId: record.groupId })));
      for (const record of wanted) {
        const group = groupLinks.get(linkId('Group', record.groupId));
        if (!group) continue;
        const [request] = memberRequests({ add: [{ sourceId: userId, targetId }], remove: [] });
        try {
          await target.patch('Groups', group.targetId, request!.operations);
          work.putMembership({ ...record, state: 'present' });
        } catch (error) {
          if (!(error instanceof ScimRequestError)) throw error;
          work.putMembership({ ...record, state: 'add' });
          // A group gone from the target is provisioned again, with its waiting members, when it is next applied;
          // a refusal escrows the group, whose retry sends them.
          if (error.status !== 404) work.refuse({ type: 'Group', sourceId: record.groupId }, `${error.message} (adding a member)`);
          continue;
        }
        if (formerTargetId && formerTargetId !== targetId) {
          // The vanished account may still be named in the group (sent before anyone knew it was gone).
          const [removal] = memberRequests({ add: [], remove: [{ sourceId: userId, targetId: formerTargetId }] });
          await target.patch('Groups', group.targetId, removal!.operations).catch((error: unknown) => {
            if (!(error instanceof ScimRequestError)) throw error;
          });
        }
      }
    }

    /** The user's references as the plan left them, once it is applied. */
    const noteReferences = (plan: ObjectPlan, before: ObjectLink | undefined) => {
      if (plan.kind !== 'create' && plan.kind !== 'update' && plan.kind !== 'skip') return;
      for (const reference of plan.references ?? []) {
        work.reference(plan.object.id, reference, before ? before.exported[reference.key] === undefined : null);
      }
    };

    async function applyUser(plan: ObjectPlan): Promise<void> {
      const ref = refOf(plan.object);
      const before = linkFor(ref);
      work.noteAction(plan);
      if (plan.kind === 'skip') {
        keepLink(plan);
        noteReferences(plan, before);
        if (plan.outOfScope && before && !before.outOfScope) work.referencedChanged.add(ref.sourceId);
      }
      else if (plan.kind === 'error') work.refuse(ref, plan.message);
      else {
        try {
          const applied = await applyObjectPlan(plan, target, matcher, gone.has(linkId(ref.type, ref.sourceId)));
          if (applied.kind === 'absent') {
            work.note(ref, { action: 'skip', skipReason: 'disabledNotProvisioned' });
            work.finish(ref);
            return;
          }
          work.exports += 1;
          if (applied.kind === 'deleted') {
            known.delete(linkId(ref.type, ref.sourceId));
            work.linkDeletes.set(linkId(ref.type, ref.sourceId), ref);
            work.referencedChanged.add(ref.sourceId);
          } else {
            noteReferences(plan, before);
            const outOfScope = plan.kind === 'update' ? Boolean(plan.outOfScope) : false;
            if (!before || Boolean(before.outOfScope) !== outOfScope) work.referencedChanged.add(ref.sourceId);
            if (before && before.targetId !== applied.targetId) {
              // Provisioned again (deleted in the target behind our back): who names it learns its new id.
              work.referencedChanged.add(ref.sourceId);
              work.moved.add(ref.sourceId);
            }
            const { mapped, source } = plan as Exclude<typeof plan, { kind: 'delete' }>;
            recordLink({ ...ref, targetId: applied.targetId, exported: mapped, source, seenAt: now(), ...(outOfScope ? { outOfScope } : {}) });
            work.note(ref, { targetId: applied.targetId });
            if (applied.linked) await joinGroups(ref.sourceId, applied.targetId, applied.recreated, plan.kind === 'update' ? plan.link.targetId : null);
          }
          work.exported += 1;
        } catch (error) {
          if (!(error instanceof ScimRequestError)) throw error;
          work.exports += 1;
          work.refuse(ref, error.message, error.exchange);
        }
      }
      work.finish(ref);
    }

    /**
     * Users who name one whose account appeared or went in this batch (their manager) are written again: the
     * reference is sent once the named user has an account, and cleared when it leaves scope or is deleted. A
     * new account is looked up only while references wait.
     */
    async function rewriteReferences(): Promise<void> {
      const attributes = referenceAttributes(connection.flows.User);
      if (attributes.length === 0 || work.referencedChanged.size === 0) return;
      const waitingSomewhere = options.pendingMembers || work.recordedPending;
      const holders = new Map<string, Reference>();
      const lookedUp = [...work.referencedChanged].filter((referencedId) => {
        const named = known.get(linkId('User', referencedId));
        return !(named && !named.outOfScope && !waitingSomewhere && !work.moved.has(referencedId));
      });
      const stored = await references.holdersOfMany(scope.links, lookedUp);
      for (const referencedId of lookedUp) {
        for (const reference of stored.get(referencedId) ?? []) holders.set(`${referencedId}#${reference.holderId}`, reference);
        for (const reference of work.referencePuts.values()) if (reference.referencedId === referencedId) holders.set(`${referencedId}#${reference.holderId}`, reference);
      }
      for (const key of work.referenceDeletes.keys()) holders.delete(key);
      const unknownHolders = [...holders.values()].filter((reference) => !known.has(linkId('User', reference.holderId)));
      for (const [id, link] of await readLinks(unknownHolders.map((reference) => ({ type: 'User' as const, sourceId: reference.holderId })))) known.set(id, link);
      await pool([...holders.values()], deps.concurrency, async (reference) => {
        const holder = known.get(linkId('User', reference.holderId));
        if (!holder || holder.outOfScope) return;
        const named = known.get(linkId('User', reference.referencedId));
        const targetId = named && !named.outOfScope ? named.targetId : null;
        const next: Record<string, unknown> = { ...holder.exported };
        for (const attribute of attributes) {
          if (holder.source[attribute.sourceAttribute] !== reference.referencedId) continue;
          if (targetId === null) delete next[attribute.key];
          else next[attribute.key] = targetId;
        }
        const operations = patchOperations(holder.exported as CreatePlan['mapped'], next as CreatePlan['mapped']);
        if (operations.length > 0) {
          try {
            await target.patch('Users', holder.targetId, operations);
          } catch (error) {
            if (!(error instanceof ScimRequestError)) throw error;
            work.refuse({ type: 'User', sourceId: reference.holderId }, `${error.message} (writing a reference)`);
            return;
          }
          recordLink({ ...holder, exported: next });
          work.exports += 1;
        }
        if (reference.waiting !== (targetId === null)) work.referencePuts.set(`${reference.referencedId}#${reference.holderId}`, { ...reference, waiting: targetId === null });
      });
    }

    /** Records a group's member changes as pending (its own request was refused; its escrow retry sends them). */
    function deferMembers(object: DirectoryObject, recorded: ReadonlyMap<string, Membership>): void {
      for (const userId of object.membersAdded) {
        if (recorded.get(userId)?.state !== 'present') work.putMembership({ groupId: object.id, userId, state: 'add', seenAt: now() });
      }
      for (const userId of object.membersRemoved) {
        const known = recorded.get(userId);
        if (known?.state === 'add') work.dropMembership(object.id, userId);
        else if (known) work.putMembership({ ...known, state: 'remove' });
      }
    }

    /** Every recorded membership of a group (a group created or re-created gets them all). */
    async function recordedOf(groupId: string, pendingOnly: boolean): Promise<Membership[]> {
      const all: Membership[] = [];
      let cursor: string | null = null;
      do {
        const page = await memberships.listByGroup(scope.links, groupId, cursor, 1000, pendingOnly);
        all.push(...work.read(page.items));
        cursor = page.cursor;
      } while (cursor);
      return all;
    }

    /** Sends a linked group's member changes and records where each membership now stands. */
    async function applyMembers(object: DirectoryObject, targetId: string, created: boolean, pageRecords: ReadonlyMap<string, Membership>, adopted = false): Promise<void> {
      const recorded = new Map(pageRecords);
      const added = [...object.membersAdded];
      const removed = [...object.membersRemoved];
      if (created) {
        // A new group in the target is empty: everything recorded, and everything the directory has, goes in;
        // nothing needs removing from it.
        const leaving = new Set(object.membersRemoved);
        for (const record of await recordedOf(object.id, false)) {
          if (record.state === 'remove' || leaving.has(record.userId)) {
            // Removed in the directory (before, or on this very page): not put back.
            recorded.delete(record.userId);
            work.dropMembership(object.id, record.userId);
          } else {
            recorded.set(record.userId, { ...record, state: 'add' });
            added.push(record.userId);
          }
        }
        if (options.readMembersOnCreate) added.push(...(await connection.source.readMembers(object.id, { transitive: connection.flattenGroups })));
        const present = new Set(added);
        for (const userId of removed.splice(0)) {
          if (present.has(userId) || !recorded.has(userId)) continue;
          recorded.delete(userId);
          work.dropMembership(object.id, userId);
        }
      } else if (options.reconcilePending) {
        for (const record of await recordedOf(object.id, true)) {
          recorded.set(record.userId, record);
          (record.state === 'add' ? added : removed).push(record.userId);
        }
      }
      const unknownUsers = [...new Set([...added, ...removed])].filter((userId) => !known.has(linkId('User', userId)));
      for (const [id, link] of await readLinks(unknownUsers.map((sourceId) => ({ type: 'User' as const, sourceId })))) known.set(id, link);

      const plan = planMembers({
        groupId: object.id,
        added,
        removed,
        recorded,
        userTarget: (userId) => known.get(linkId('User', userId))?.targetId,
        at: now(),
        stampAll: options.stampAll,
      });
      const failed = new Set<string>();
      let refusal: string | null = null;
      let refusedExchange: TargetExchange | null = null;
      for (const request of memberRequests(plan)) {
        if (refusal !== null) {
          request.members.forEach((member) => failed.add(member.sourceId));
          continue;
        }
        try {
          await target.patch('Groups', targetId, request.operations);
        } catch (error) {
          if (!(error instanceof ScimRequestError)) throw error;
          if (error.status === 404 && !created) throw new GroupVanishedError(error.message);
          refusal = `${error.message} (${request.kind === 'add' ? 'adding' : 'removing'} members)`;
          refusedExchange = error.exchange;
          request.members.forEach((member) => failed.add(member.sourceId));
        }
      }
      for (const membership of plan.put) {
        work.putMembership(failed.has(membership.userId) ? { ...membership, state: 'add' } : membership);
      }
      for (const userId of plan.drop) {
        const record = recorded.get(userId);
        if (failed.has(userId) && record) work.putMembership({ ...record, state: 'remove' });
        else work.dropMembership(object.id, userId);
      }
      // A group linked in a full round is checked at the round's end: adopted, it may hold members the directory no
      // longer has; created by a run that died before saving its memberships, the same.
      if (created && options.stampAll && !options.readMembersOnCreate) {
        const link = linkFor(refOf(object));
        if (link) recordLink({ ...link, membersUnverified: true });
      } else if (adopted && refusal === null) {
        if (options.readMembersOnCreate) {
          // The directory's whole membership is known: what else the adopted group holds goes.
          const keep = new Set(added.flatMap((userId) => known.get(linkId('User', userId))?.targetId ?? []));
          try {
            await removeMembersBeyond(target, targetId, keep);
          } catch (error) {
            if (!(error instanceof ScimRequestError)) throw error;
            refusal = `${error.message} (removing members the adopted group held)`;
            refusedExchange = error.exchange;
          }
        }
      }
      const sent = (kind: 'add' | 'remove') => (kind === 'add' ? plan.add : plan.remove).filter((member) => !failed.has(member.sourceId)).length;
      work.note(refOf(object), { targetId, membersAdded: sent('add'), membersRemoved: sent('remove') });
      if (refusal !== null) work.refuse(refOf(object), refusal, refusedExchange);
    }

    async function applyGroup(plan: ObjectPlan, pageRecords: ReadonlyMap<string, ReadonlyMap<string, Membership>>): Promise<void> {
      const object = plan.object;
      const ref = refOf(object);
      const link = linkFor(ref);
      const records = pageRecords.get(object.id) ?? new Map<string, Membership>();
      work.noteAction(plan, link?.targetId);
      // A group refused (or not mappable) keeps the member changes it came with: its create, on a later page or
      // from escrow, adds them.
      if (plan.kind === 'error') {
        work.refuse(ref, plan.message);
        deferMembers(object, records);
        return;
      }
      if (plan.kind === 'delete') {
        work.exports += 1;
        await target.delete(plan.resourceType, plan.link.targetId);
        known.delete(linkId(ref.type, ref.sourceId));
        work.linkDeletes.set(linkId(ref.type, ref.sourceId), ref);
        for (const record of await recordedOf(object.id, false)) work.dropMembership(object.id, record.userId);
        work.exported += 1;
        return;
      }
      if (plan.kind === 'skip' && !link) return; // not provisioned: its memberships mean nothing here
      let targetId = link?.targetId ?? '';
      let created = false;
      let adopted = false;
      if (plan.kind === 'skip') keepLink(plan);
      else {
        work.exports += 1;
        try {
          const applied = await applyObjectPlan(plan, target, matcher, gone.has(linkId(ref.type, ref.sourceId)));
          if (applied.kind !== 'linked') return;
          targetId = applied.targetId;
          created = applied.linked;
          adopted = applied.adopted;
          recordLink({ ...(link ?? {}), ...ref, targetId, exported: plan.mapped, source: plan.source, seenAt: now() });
          work.note(ref, { targetId });
          work.exported += 1;
        } catch (error) {
          if (!(error instanceof ScimRequestError)) throw error;
          work.refuse(ref, error.message, error.exchange);
          deferMembers(object, records);
          return;
        }
      }
      try {
        await applyMembers(object, targetId, created, records, adopted);
      } catch (error) {
        if (!(error instanceof GroupVanishedError)) throw error;
        // Deleted in the target behind our back: provision it again, with every member it should have.
        const current = linkFor(ref)!;
        const mapped = current.exported as CreatePlan['mapped'];
        const flow = connection.flows.Group!;
        const recreate: CreatePlan = { kind: 'create', object, resourceType: flow.resourceType, mapped, match: matchOf(flow.mapping, mapped), source: current.source };
        try {
          ({ targetId, adopted } = await createOrAdopt(recreate, target, matcher));
        } catch (failure) {
          if (!(failure instanceof ScimRequestError)) throw failure;
          work.refuse(ref, failure.message, failure.exchange);
          deferMembers(object, records);
          return;
        }
        recordLink({ ...current, targetId, seenAt: now() });
        await applyMembers(object, targetId, true, records, adopted);
      }
    }

    let escrowedUntil: string | null = null;
    async function save(): Promise<void> {
      await Promise.all([
        links.putMany(scope.links, [...work.linkPuts.values()]),
        links.deleteMany(scope.links, [...work.linkDeletes.values()]),
        memberships.putMany(scope.links, [...work.membershipPuts.values()]),
        memberships.deleteMany(scope.links, [...work.membershipDrops.values()]),
        memberships.unindex(scope.links, work.unindexed()),
        references.putMany(scope.links, [...work.referencePuts.values()]),
        references.deleteMany(scope.links, [...work.referenceDeletes.values()]),
      ]);
      const refused = [...work.refused.values()];
      const cleared = [...work.done.entries()].filter(([id]) => !work.refused.has(id)).map(([, ref]) => ref);
      const lookup = [...refused.map((entry) => entry.ref), ...(options.escrowsPending ? cleared : [])];
      const previous = new Map((lookup.length > 0 ? await escrows.getMany(scope.escrows, lookup) : []).map((escrow) => [linkId(escrow.type, escrow.sourceId), escrow]));
      const escrowed = refused.map(({ ref, error }) => escrowAfterRefusal(options.freshEscrows ? undefined : previous.get(linkId(ref.type, ref.sourceId)), ref, error, now(), options.intervalMinutes));
      await escrows.putMany(scope.escrows, escrowed);
      escrowedUntil = escrowed.reduce<string | null>((soonest, escrow) => (soonest === null || escrow.nextAttemptAt < soonest ? escrow.nextAttemptAt : soonest), null);
      await escrows.deleteMany(scope.escrows, cleared.filter((ref) => previous.has(linkId(ref.type, ref.sourceId))));
    }

    /** What the saved batch changed in the number of links; uncertain when a write was of a link never read. */
    function linkChanges(): Pick<BatchApplied, 'linkDelta' | 'linkDeltaUncertain'> {
      const linkDelta = { User: 0, Group: 0 };
      let linkDeltaUncertain = false;
      for (const [id, link] of work.linkPuts) {
        const existed = linksRead.get(id);
        if (existed === undefined || work.linkDeletes.has(id)) linkDeltaUncertain = true;
        else if (!existed) linkDelta[link.type] += 1;
      }
      for (const [id, ref] of work.linkDeletes) {
        const existed = linksRead.get(id);
        if (existed === undefined) linkDeltaUncertain = true;
        else if (existed) linkDelta[ref.type] -= 1;
      }
      return { linkDelta, linkDeltaUncertain };
    }

    const userPlans = plans.filter((plan) => plan.object.type === 'User');
    const groupPlans = plans.filter((plan) => plan.object.type === 'Group');
    // Creates about to be sent are noted first: a run that dies before saving their links leaves a trace.
    const creates = plans.filter((plan): plan is CreatePlan => plan.kind === 'create' && !plan.adoptOnly && plan.match !== null);
    const noted = creates.map((plan) => ({
      type: plan.object.type,
      sourceId: plan.object.id,
      resourceType: plan.resourceType,
      matches: [plan.match!, ...(plan.alsoMatch ?? [])],
    }));
    await intents.putMany(scope.links, noted);
    try {
      await prepare(userPlans);
      await pool(userPlans, deps.concurrency, (plan) => work.timed(refOf(plan.object), () => applyUser(plan)), options.hasTime);
      if (work.done.size === userPlans.length) await rewriteReferences();
      if (work.done.size === userPlans.length && groupPlans.length > 0) {
        const pairs = groupPlans.flatMap((plan) =>
          [...plan.object.membersAdded, ...plan.object.membersRemoved].map((userId) => ({ groupId: plan.object.id, userId })),
        );
        const records = new Map<string, Map<string, Membership>>();
        // What this batch already recorded (a user just linked joined its groups) overrides what is stored.
        const stored = work.read(await memberships.getMany(scope.links, pairs));
        for (const record of stored.map((record) => work.membershipPuts.get(pairKey(record.groupId, record.userId)) ?? record)) {
          const group = records.get(record.groupId) ?? new Map<string, Membership>();
          group.set(record.userId, record);
          records.set(record.groupId, group);
        }
        await prepare(groupPlans);
        // Done only when it returns: a group stopped by throttling or an outage keeps its escrow and is done again.
        await pool(groupPlans, deps.concurrency, async (plan) => {
          await work.timed(refOf(plan.object), () => applyGroup(plan, records));
          work.finish(refOf(plan.object));
        }, options.hasTime);
      }
    } finally {
      await save();
      // A create whose object is done has its link saved (or was refused): its trace goes. One stopped stays.
      await intents.deleteMany(scope.links, noted.filter((intent) => work.done.has(linkId(intent.type, intent.sourceId))));
    }
    const firstRefusal = [...work.refused.values()][0];
    return {
      outcomes: [...work.outcomes.values()],
      complete: work.done.size === plans.length,
      exports: work.exports,
      exported: work.exported,
      escrowed: work.refused.size,
      deletes: work.deletes,
      escrowSample: firstRefusal ? `${firstRefusal.ref.type} ${firstRefusal.ref.sourceId}: ${firstRefusal.error}` : null,
      ...linkChanges(),
      recordedPending: work.recordedPending,
      escrowedUntil,
    };
  };
}

export type PageApplier = ReturnType<typeof makePageApplier>;
