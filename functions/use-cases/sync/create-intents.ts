import type { CreateIntentStore } from '../../ports/create-intents.ts';
import type { DirectoryObject, DirectorySource } from '../../ports/directory-source.ts';
import { linkId, type LinkScope, type LinkStore } from '../../ports/link-store.ts';
import type { ScimTarget } from '../../ports/scim-target.ts';
import type { ObjectOutcome } from './page-applier.ts';

const INTENT_PAGE = 100;

/**
 * Creates a run may have sent without saving their links (it died in between). An object the directory still has
 * is applied now (`applyPresent`): its create finds the account and adopts it. One out of scope by now (say,
 * unassigned meanwhile), and one the directory no longer has, would leave the account behind, active: a user's is
 * disabled (out of scope, soft-deleted), a group's deleted, as if it had been linked.
 */
export async function resolveCreateIntents(input: {
  intents: CreateIntentStore;
  links: LinkStore;
  source: DirectorySource;
  target: ScimTarget;
  scope: LinkScope;
  hasTime(): boolean;
  applyPresent(objects: DirectoryObject[]): Promise<ObjectOutcome[]>;
}): Promise<void> {
  let cursor: string | null = null;
  do {
    if (!input.hasTime()) return;
    const page = await input.intents.list(input.scope, cursor, INTENT_PAGE);
    const linked = await input.links.getMany(input.scope, page.items);
    const unlinked = page.items.filter((intent) => !linked.has(linkId(intent.type, intent.sourceId)));
    const now = unlinked.length > 0 ? await input.source.readObjects(unlinked.map((intent) => ({ type: intent.type, id: intent.sourceId }))) : [];
    const present = now.filter((object) => object.removed === null);
    const outcomes = present.length > 0 ? await input.applyPresent(present) : [];
    const outOfScope = new Set(
      outcomes
        .filter((outcome) => outcome.action === 'skip' && (outcome.skipReason === 'outOfScope' || outcome.skipReason === 'notEffectivelyEntitled'))
        .map((outcome) => linkId(outcome.ref.type, outcome.ref.sourceId)),
    );
    for (const [index, intent] of unlinked.entries()) {
      const removed = now[index]?.removed ?? (outOfScope.has(linkId(intent.type, intent.sourceId)) ? 'changed' : null);
      if (removed === null) continue;
      let account: string | null = null;
      for (const match of intent.matches) {
        account = (await input.target.findBy(intent.resourceType, match.attribute, match.value))?.id ?? null;
        if (account) break;
      }
      if (!account) continue;
      if (removed === 'changed' && intent.type === 'User') await input.target.patch(intent.resourceType, account, [{ op: 'replace', path: 'active', value: false }]);
      else await input.target.delete(intent.resourceType, account);
    }
    await input.intents.deleteMany(input.scope, page.items);
    cursor = page.cursor;
  } while (cursor !== null);
}
