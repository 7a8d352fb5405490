import type { DirectoryObject, DirectorySource } from '../../ports/directory-source.ts';
import type { LinkScope, LinkStore, Membership, MembershipStore, ObjectLink } from '../../ports/link-store.ts';
import { LIST_ALL as ALL, linkId } from '../../ports/link-store.ts';
import { seenSince } from '../../domain/run-cycle.ts';
import type { Cycle } from '../../schemas/stored-job.ts';
import { ScimRequestError, type ScimTarget } from '../../ports/scim-target.ts';
import { removeMembersBeyond } from '../apply-plan.ts';
import type { BatchApplied } from './page-applier.ts';

/** Records looked at per sweep step. */
const SWEEP_PAGE = 200;

type Sweep = NonNullable<Cycle['sweep']>;
const stages: Sweep['stage'][] = ['previousLinks', 'previousMemberships', 'memberships', 'User', 'Group', 'adoptedGroups'];

/**
 * One step of a full round's end. A full read reports only what exists, never what was deleted while no delta was
 * read (an expired token, a restart): what the round did not see is looked up in the directory one by one and
 * deprovisioned as the directory says (gone, soft-deleted), a membership it did not see is removed. Nothing is
 * taken away on absence alone: an object the directory still has is applied as it is.
 */
export async function sweepStep(input: {
  links: LinkStore;
  memberships: MembershipStore;
  source: DirectorySource;
  target: ScimTarget;
  apply(objects: DirectoryObject[]): Promise<BatchApplied>;
  scope: LinkScope;
  /** The link generation a restart Full left behind on this target, if its leftovers are still to be looked at. */
  previousGeneration: number | null;
  cycle: Cycle;
}): Promise<{ applied: BatchApplied | null; next: Sweep | null }> {
  const sweep = input.cycle.sweep!;
  // Memberships come with the groups' read; each type is looked at against when its own read last began.
  const before = seenSince(input.cycle, sweep.stage === 'User' ? 'User' : 'Group');
  let applied: BatchApplied | null = null;
  let cursor: string | null;
  const previous = input.previousGeneration === null ? null : { ...input.scope, generation: input.previousGeneration };
  if (sweep.stage === 'previousLinks' || sweep.stage === 'previousMemberships') {
    cursor = previous === null ? null : await carryOver(input, previous, sweep);
  } else if (sweep.stage === 'adoptedGroups') {
    const page = await input.links.listUnverifiedGroups(input.scope, sweep.cursor, 20);
    cursor = page.cursor;
    for (const group of page.items) await verifyMembers(input, group);
  } else if (sweep.stage === 'memberships') {
    const page = await input.memberships.listUnseen(input.scope, before, sweep.cursor, SWEEP_PAGE);
    cursor = page.cursor;
    if (page.items.length > 0) applied = await removeUnseenMemberships(input, page.items);
  } else {
    const page = await input.links.listUnseen(input.scope, sweep.stage, before, sweep.cursor, SWEEP_PAGE);
    cursor = page.cursor;
    if (page.items.length > 0) {
      const objects = await input.source.readObjects(page.items.map((link) => ({ type: link.type, id: link.sourceId })));
      applied = await input.apply(objects);
    }
  }
  if (applied && !applied.complete) return { applied, next: sweep };
  if (cursor !== null) return { applied, next: { stage: sweep.stage, cursor } };
  const following = stages[stages.indexOf(sweep.stage) + 1];
  return { applied, next: following ? { stage: following, cursor: null } : null };
}

/**
 * After a restart Full, the previous generation's accounts and memberships are still in the target. What of them
 * this round did not link again is carried into the new generation as not seen, so the stages that follow remove
 * it: an account of an object the directory no longer has, a membership the directory dropped meanwhile.
 */
async function carryOver(
  input: { links: LinkStore; memberships: MembershipStore; source: DirectorySource; scope: LinkScope },
  previous: LinkScope,
  sweep: Sweep,
): Promise<string | null> {
  if (sweep.stage === 'previousLinks') {
    const page = await input.links.listUnseen(previous, 'User', ALL, sweep.cursor, SWEEP_PAGE);
    const groups = page.cursor === null ? await allLinks(input.links, previous, 'Group') : [];
    const old = [...page.items, ...groups];
    const current = await input.links.getMany(input.scope, old);
    const orphans = old.filter((link) => !current.has(linkId(link.type, link.sourceId)));
    if (orphans.length > 0) {
      const now = await input.source.readObjects(orphans.map((link) => ({ type: link.type, id: link.sourceId })));
      const gone = new Set(now.filter((object) => object.removed !== null).map((object) => linkId(object.type, object.id)));
      await input.links.putMany(input.scope, orphans.filter((link) => gone.has(linkId(link.type, link.sourceId))).map((link) => ({ ...link, seenAt: '' })));
    }
    return page.cursor;
  }
  const page = await input.memberships.listUnseen(previous, ALL, sweep.cursor, SWEEP_PAGE);
  const present = page.items.filter((record) => record.state === 'present');
  const [known, linked] = await Promise.all([
    input.memberships.getMany(input.scope, present),
    input.links.getMany(input.scope, present.flatMap((record) => [{ type: 'Group' as const, sourceId: record.groupId }, { type: 'User' as const, sourceId: record.userId }])),
  ]);
  const recorded = new Set(known.map((record) => `${record.groupId}#${record.userId}`));
  const left = present.filter(
    (record) => !recorded.has(`${record.groupId}#${record.userId}`) && linked.has(linkId('Group', record.groupId)) && linked.has(linkId('User', record.userId)),
  );
  await input.memberships.putMany(input.scope, left.map((record) => ({ ...record, seenAt: '' })));
  return page.cursor;
}

/** Every link of a type of a generation (group links: few enough to read at once). */
async function allLinks(links: LinkStore, scope: LinkScope, type: 'Group'): Promise<ObjectLink[]> {
  const all: ObjectLink[] = [];
  let cursor: string | null = null;
  do {
    const page = await links.listUnseen(scope, type, ALL, cursor, SWEEP_PAGE);
    all.push(...page.items);
    cursor = page.cursor;
  } while (cursor !== null);
  return all;
}

/**
 * A group adopted in this round, now that the round has read its whole membership: what else it holds in the target
 * is removed. A target that refuses keeps the group unverified; the next full round tries again.
 */
async function verifyMembers(input: { links: LinkStore; memberships: MembershipStore; target: ScimTarget; scope: LinkScope }, group: ObjectLink): Promise<void> {
  const members: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await input.memberships.listByGroup(input.scope, group.sourceId, cursor, 1000);
    members.push(...page.items.filter((record) => record.state !== 'remove').map((record) => record.userId));
    cursor = page.cursor;
  } while (cursor !== null);
  const users = await input.links.getMany(input.scope, members.map((sourceId) => ({ type: 'User' as const, sourceId })));
  try {
    await removeMembersBeyond(input.target, group.targetId, new Set([...users.values()].map((user) => user.targetId)));
  } catch (error) {
    if (error instanceof ScimRequestError) return;
    throw error;
  }
  const { membersUnverified: _verified, ...verified } = group;
  await input.links.putMany(input.scope, [verified]);
}

/** Unseen memberships become removals of their groups (records of groups no longer linked are just dropped). */
async function removeUnseenMemberships(
  input: { links: LinkStore; memberships: MembershipStore; apply(objects: DirectoryObject[]): Promise<BatchApplied>; scope: LinkScope },
  records: Membership[],
): Promise<BatchApplied | null> {
  const byGroup = new Map<string, string[]>();
  for (const record of records) byGroup.set(record.groupId, [...(byGroup.get(record.groupId) ?? []), record.userId]);
  const groups = await input.links.getMany(input.scope, [...byGroup.keys()].map((sourceId) => ({ type: 'Group' as const, sourceId })));
  const orphans = records.filter((record) => !groups.has(linkId('Group', record.groupId)));
  await input.memberships.deleteMany(input.scope, orphans);
  await input.memberships.unindex(input.scope, orphans.filter((record) => record.state === 'add'));
  const removals: DirectoryObject[] = [...byGroup]
    .filter(([groupId]) => groups.has(linkId('Group', groupId)))
    .map(([groupId, userIds]) => ({ type: 'Group', id: groupId, attributes: {}, membersAdded: [], membersRemoved: userIds, removed: null }));
  return removals.length > 0 ? input.apply(removals) : null;
}
