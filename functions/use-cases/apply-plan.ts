import { patchOperations, toScimResource } from '../domain/mapping/scim-resource.ts';
import { memberOperations, type ObjectPlan } from '../domain/sync-plan.ts';
import type { ObjectLink } from '../ports/link-store.ts';
import { ScimRequestError, type ScimTarget } from '../ports/scim-target.ts';
import type { TargetMatcher } from './target-matcher.ts';

/** Runs `work` over `items`, at most `limit` at a time. */
export async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}

/**
 * Applies one object's plan to the target; returns its new link (or null to forget it). A refused request
 * escrows the object; an unavailable target aborts the run (quarantine).
 */
export async function applyPlan(
  plan: Exclude<ObjectPlan, { kind: 'skip' | 'error' }>,
  target: ScimTarget,
  matcher: TargetMatcher,
): Promise<ObjectLink | null> {
  const { object } = plan;
  if (plan.kind === 'delete') {
    await target.delete(plan.resourceType, plan.link.targetId);
    return null;
  }
  let targetId: string;
  let previousMembers: string[];
  if (plan.kind === 'create') {
    const match = plan.match;
    const existingId = match ? await matcher.find(plan.resourceType, match.attribute, match.value) : null;
    if (existingId) {
      targetId = existingId;
      await target.patch(plan.resourceType, targetId, patchOperations({}, plan.mapped));
    } else {
      try {
        targetId = (await target.create(plan.resourceType, toScimResource(plan.resourceType, plan.mapped))).id;
      } catch (error) {
        // Created meanwhile (or by an earlier run that crashed before saving its link): adopt it.
        const conflicting = error instanceof ScimRequestError && error.status === 409 && match;
        const found = conflicting ? await target.findBy(plan.resourceType, match.attribute, match.value) : null;
        if (!found) throw error;
        targetId = found.id;
        await target.patch(plan.resourceType, targetId, patchOperations({}, plan.mapped));
      }
      if (match) matcher.remember(plan.resourceType, match.attribute, match.value, targetId);
    }
    previousMembers = [];
  } else {
    targetId = plan.link.targetId;
    try {
      if (plan.operations.length > 0) await target.patch(plan.resourceType, targetId, plan.operations);
      for (const operations of memberOperations(plan.members)) await target.patch(plan.resourceType, targetId, operations);
    } catch (error) {
      // Deleted in the target behind our back: provision it again (found by its matching attribute, or created).
      if (!(error instanceof ScimRequestError && error.status === 404)) throw error;
      return applyPlan({ ...plan, kind: 'create' }, target, matcher);
    }
    previousMembers = plan.link.members ?? [];
  }
  if (plan.kind === 'create') {
    for (const operations of memberOperations(plan.members)) await target.patch(plan.resourceType, targetId, operations);
  }
  const members = new Set(previousMembers);
  for (const member of plan.members.add) members.add(member.sourceId);
  for (const member of plan.members.remove) members.delete(member.sourceId);
  return {
    type: object.type,
    sourceId: object.id,
    targetId,
    exported: plan.mapped as Record<string, unknown>,
    ...(object.type === 'Group' ? { members: [...members] } : {}),
  };
}
