import type { DirectoryObject, DirectorySource } from '../../ports/directory-source.ts';
import type { LinkScope, LinkStore, Membership, MembershipStore } from '../../ports/link-store.ts';
import { linkId } from '../../ports/link-store.ts';
import type { Cycle } from '../../schemas/stored-job.ts';
import type { BatchApplied } from './page-applier.ts';

/** Records looked at per sweep step. */
const SWEEP_PAGE = 200;

type Sweep = NonNullable<Cycle['sweep']>;
const stages: Sweep['stage'][] = ['memberships', 'User', 'Group'];

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
  apply(objects: DirectoryObject[]): Promise<BatchApplied>;
  scope: LinkScope;
  cycle: Cycle;
}): Promise<{ applied: BatchApplied | null; next: Sweep | null }> {
  const sweep = input.cycle.sweep!;
  const before = input.cycle.timeBegan;
  let applied: BatchApplied | null = null;
  let cursor: string | null;
  if (sweep.stage === 'memberships') {
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
  const removals: DirectoryObject[] = [...byGroup]
    .filter(([groupId]) => groups.has(linkId('Group', groupId)))
    .map(([groupId, userIds]) => ({ type: 'Group', id: groupId, attributes: {}, membersAdded: [], membersRemoved: userIds, removed: null }));
  return removals.length > 0 ? input.apply(removals) : null;
}
