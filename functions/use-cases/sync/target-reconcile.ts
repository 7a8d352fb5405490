import { fromScimResource, patchOperations } from '../../domain/mapping/scim-resource.ts';
import type { MappedObject } from '../../domain/mapping/attribute-mapping.ts';
import type { DirectoryObject, DirectorySource } from '../../ports/directory-source.ts';
import { LIST_ALL, linkId, type LinkScope, type LinkStore, type Membership, type MembershipStore, type ObjectLink } from '../../ports/link-store.ts';
import type { ScimTarget } from '../../ports/scim-target.ts';
import type { Cycle } from '../../schemas/stored-job.ts';
import { pool } from '../apply-plan.ts';
import type { BatchApplied } from './page-applier.ts';

export type Reconcile = NonNullable<Cycle['reconcile']>;
/** What a read-back found, so far or in all. */
export type Counted = Pick<Reconcile, 'verified' | 'repaired' | 'membershipsRestored'>;

/** Links read back per step: users are one read each; a group is two or more (its values, then its members). */
const PAGE = { User: 50, Group: 20 } as const;

/** What the target holds of one link, against what the link says was last sent. */
type Found =
  /** As the link says. */
  | { kind: 'inStep' }
  /** Gone from the target (deleted behind the job's back). */
  | { kind: 'missing' }
  /** Its values differ: what it holds now, in the link's terms. */
  | { kind: 'changed'; held: Record<string, unknown> };

/**
 * One step of reading the target back (a page of user links, then of group links): each account is read, and one
 * that is gone or holds other values than the link says was sent has its directory object applied as it is now,
 * planned against what the target holds (or, gone, against nothing) in place of what the link says was sent. The applier then does what it does with
 * any change: patches back to what the mapping produces, or provisions again an account that is gone (with its
 * groups). A group's recorded memberships the target no longer holds are marked pending and sent again. What the
 * target holds beyond the links (accounts, members added there) is left alone: the job never removes what it did
 * not put there. Redone after a crash, a step reads the target again and finds what is still to repair.
 */
export async function reconcileStep(input: {
  links: LinkStore;
  memberships: MembershipStore;
  source: DirectorySource;
  target: ScimTarget;
  /** Applies the objects, planned against `readBack` in place of their stored links. */
  apply(objects: DirectoryObject[], readBack: ReadonlyMap<string, ObjectLink | 'gone'>): Promise<BatchApplied>;
  scope: LinkScope;
  concurrency: number;
  hasTime: () => boolean;
  reconcile: Reconcile;
}): Promise<{ applied: BatchApplied | null; next: Reconcile | null; counted: Counted }> {
  const { reconcile } = input;
  const type = reconcile.stage;
  const page = await input.links.listUnseen(input.scope, type, LIST_ALL, reconcile.cursor, PAGE[type]);
  // Accounts put out of scope are disabled and left: one gone is not provisioned again.
  const links = page.items.filter((link) => !link.outOfScope);
  const found = new Map<string, Found>();
  const lost = new Map<string, Membership[]>();
  await pool(links, input.concurrency, async (link) => {
    const state = await readBack(input.target, link);
    found.set(link.sourceId, state);
    if (type === 'Group' && state.kind !== 'missing') {
      const missing = await lostMembers(input, link);
      if (missing === null) found.set(link.sourceId, { kind: 'missing' });
      else if (missing.length > 0) lost.set(link.sourceId, missing);
    }
  });
  const drifted = links.filter((link) => found.get(link.sourceId)!.kind !== 'inStep' || lost.has(link.sourceId));
  const counted: Counted = {
    verified: reconcile.verified + links.length,
    repaired: reconcile.repaired + drifted.length,
    membershipsRestored: reconcile.membershipsRestored + [...lost.values()].reduce((sum, records) => sum + records.length, 0),
  };
  let applied: BatchApplied | null = null;
  if (drifted.length > 0) {
    // What the target holds is taken for what was last sent: the plan then sends what differs from it.
    const readBack = new Map(
      drifted.flatMap((link): [string, ObjectLink | 'gone'][] => {
        const state = found.get(link.sourceId)!;
        if (state.kind === 'inStep') return [];
        return [[linkId(link.type, link.sourceId), state.kind === 'missing' ? 'gone' : { ...link, exported: state.held }]];
      }),
    );
    // (Marked pending until sent: a run that dies first finds them missing again, and sends them then.)
    await input.memberships.putMany(input.scope, [...lost.values()].flat().map((record) => ({ ...record, state: 'add' as const })));
    const objects = await input.source.readObjects(drifted.map((link) => ({ type, id: link.sourceId })));
    applied = await input.apply(objects, readBack);
    // Stopped part-way: the step is done again (what was repaired then reads back in step).
    if (!applied.complete) return { applied, next: reconcile, counted: reconcile };
  }
  const next: Reconcile = { ...reconcile, ...counted, cursor: page.cursor };
  if (page.cursor !== null) return { applied, next, counted };
  return { applied, next: type === 'User' ? { ...next, stage: 'Group', cursor: null } : null, counted };
}

/** The account as the target holds it, compared in the link's own terms (the keys it exported). */
async function readBack(target: ScimTarget, link: ObjectLink): Promise<Found> {
  const resource = await target.get(link.type === 'User' ? 'Users' : 'Groups', link.targetId);
  if (resource === null) return { kind: 'missing' };
  const held = fromScimResource(resource, Object.keys(link.exported));
  // A target that takes one value of each multi-valued attribute was never sent the others: their absence is no drift.
  const singleValues = target.traits().singleValues === true;
  const sent = Object.fromEntries(Object.entries(link.exported).filter(([key]) => !(singleValues && key.includes('[') && held[key] === undefined)));
  return patchOperations(held, sent as MappedObject).length === 0 ? { kind: 'inStep' } : { kind: 'changed', held };
}

/**
 * The group's memberships recorded as sent (or waiting to be) whose user's account the target's group does not
 * hold; null when the group is gone. A target whose group reads list no members (AWS IAM Identity Center) is asked
 * from the users' side, and only when its group read seems to have lost some.
 */
async function lostMembers(input: { links: LinkStore; memberships: MembershipStore; target: ScimTarget; scope: LinkScope }, group: ObjectLink): Promise<Membership[] | null> {
  const recorded: Membership[] = [];
  let cursor: string | null = null;
  do {
    const page = await input.memberships.listByGroup(input.scope, group.sourceId, cursor, 1000);
    recorded.push(...page.items.filter((record) => record.state !== 'remove'));
    cursor = page.cursor;
  } while (cursor !== null);
  if (recorded.length === 0) return [];
  const users = await input.links.getMany(input.scope, recorded.map((record) => ({ type: 'User' as const, sourceId: record.userId })));
  const expected = recorded.flatMap((record) => {
    const user = users.get(linkId('User', record.userId));
    return user && !user.outOfScope ? [{ record, targetId: user.targetId }] : [];
  });
  const held = await input.target.groupMembers(group.targetId);
  if (held === null) return null;
  const holds = new Set(held);
  if (expected.some(({ targetId }) => !holds.has(targetId))) {
    for (const targetId of (await input.target.usersInGroup(group.targetId)) ?? []) holds.add(targetId);
  }
  return expected.filter(({ targetId }) => !holds.has(targetId)).map(({ record }) => record);
}
