import { fromScimResource, patchOperations, toScimResource } from '../domain/mapping/scim-resource.ts';
import { memberRequests, type ObjectPlan } from '../domain/sync-plan.ts';
import { ScimRequestError, type ScimTarget } from '../ports/scim-target.ts';
import type { TargetMatcher } from './target-matcher.ts';

type CreatePlan = Extract<ObjectPlan, { kind: 'create' }>;
type UpdatePlan = Extract<ObjectPlan, { kind: 'update' }>;
export type { CreatePlan };
type DeletePlan = Extract<ObjectPlan, { kind: 'delete' }>;

/** Where an applied plan left the object in the target. */
export type Applied =
  | {
      kind: 'linked';
      targetId: string;
      /** A new link (created or adopted). */
      linked: boolean;
      /** It had vanished from the target. */
      recreated: boolean;
      /** The account existed already: it may hold values (a group: members) this job did not give it. */
      adopted: boolean;
    }
  | { kind: 'deleted' }
  /** An adopt-only plan found no account: nothing was done. */
  | { kind: 'absent' };

/** Runs `work` over `items`, at most `limit` at a time; stops taking new items once `more()` says no. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, more: () => boolean = () => true): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && failure === null && more()) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        // The first failure stops new work; what is in flight finishes, so its outcome can be saved.
        failure ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw (failure as { error: unknown }).error;
}

/**
 * An existing account takes the mapped values: read it, and send only what differs from what it holds now (never
 * every email, phone and address again).
 */
async function adopt(plan: CreatePlan, target: ScimTarget, targetId: string): Promise<void> {
  const existing = await target.get(plan.resourceType, targetId);
  const current = existing ? fromScimResource(existing, Object.keys(plan.mapped)) : {};
  const operations = patchOperations(current, plan.mapped);
  if (operations.length > 0) await target.patch(plan.resourceType, targetId, operations);
}

/** The account a create would adopt: found by the first matching attribute, else by the next ones in order. */
async function findExisting(plan: CreatePlan, target: ScimTarget, matcher: TargetMatcher): Promise<string | null> {
  const first = plan.match ? await matcher.find(plan.resourceType, plan.match.attribute, plan.match.value) : null;
  if (first) return first;
  for (const next of plan.alsoMatch ?? []) {
    const found = await target.findBy(plan.resourceType, next.attribute, next.value);
    if (found) return found.id;
  }
  return null;
}

/** Creates the account, or adopts the one that matches (found first, or named by a 409). */
export async function createOrAdopt(plan: CreatePlan, target: ScimTarget, matcher: TargetMatcher): Promise<{ targetId: string; adopted: boolean }> {
  const { match } = plan;
  const existingId = await findExisting(plan, target, matcher);
  if (existingId) {
    await adopt(plan, target, existingId);
    return { targetId: existingId, adopted: true };
  }
  let adopted = false;
  let targetId: string;
  try {
    targetId = (await target.create(plan.resourceType, toScimResource(plan.resourceType, plan.mapped))).id;
  } catch (error) {
    // Created meanwhile (or by an earlier run that crashed before saving its link): adopt it.
    const conflicting = error instanceof ScimRequestError && error.status === 409 && match;
    const found = conflicting ? await target.findBy(plan.resourceType, match.attribute, match.value) : null;
    if (!found) throw error;
    targetId = found.id;
    adopted = true;
    await adopt(plan, target, targetId);
  }
  if (match) matcher.remember(plan.resourceType, match.attribute, match.value, targetId);
  return { targetId, adopted };
}

/**
 * Applies one object's own plan (attributes, not membership) to the target. A refused request throws
 * ScimRequestError (the object is escrowed); an account deleted in the target behind our back is provisioned again
 * (at once when a read-back found it `gone`, else when its update answers 404).
 */
export async function applyObjectPlan(plan: CreatePlan | UpdatePlan | DeletePlan, target: ScimTarget, matcher: TargetMatcher, gone = false): Promise<Applied> {
  switch (plan.kind) {
    case 'delete':
      await target.delete(plan.resourceType, plan.link.targetId);
      return { kind: 'deleted' };
    case 'create': {
      if (plan.adoptOnly) {
        const existingId = await findExisting(plan, target, matcher);
        if (!existingId) return { kind: 'absent' };
        await adopt(plan, target, existingId);
        return { kind: 'linked', targetId: existingId, linked: true, recreated: false, adopted: true };
      }
      return { kind: 'linked', ...(await createOrAdopt(plan, target, matcher)), linked: true, recreated: false };
    }
    case 'update':
      if (gone) return { kind: 'linked', ...(await createOrAdopt({ ...plan, kind: 'create' }, target, matcher)), linked: true, recreated: true };
      try {
        await target.patch(plan.resourceType, plan.link.targetId, plan.operations);
        return { kind: 'linked', targetId: plan.link.targetId, linked: false, recreated: false, adopted: false };
      } catch (error) {
        if (!(error instanceof ScimRequestError && error.status === 404)) throw error;
        return { kind: 'linked', ...(await createOrAdopt({ ...plan, kind: 'create' }, target, matcher)), linked: true, recreated: true };
      }
  }
}

/**
 * An adopted group is brought to the directory's membership: whatever members the target holds beyond `keep`
 * (target ids) are removed. Returns how many were.
 */
export async function removeMembersBeyond(target: ScimTarget, groupTargetId: string, keep: ReadonlySet<string>): Promise<number> {
  const held = (await target.groupMembers(groupTargetId)) ?? [];
  const extra = held.filter((targetId) => !keep.has(targetId)).map((targetId) => ({ sourceId: '', targetId }));
  for (const request of memberRequests({ add: [], remove: extra })) await target.patch('Groups', groupTargetId, request.operations);
  return extra.length;
}
