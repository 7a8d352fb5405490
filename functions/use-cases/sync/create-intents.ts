import type { CreateIntentStore } from '../../ports/create-intents.ts';
import type { DirectorySource } from '../../ports/directory-source.ts';
import { linkId, type LinkScope, type LinkStore } from '../../ports/link-store.ts';
import type { ScimTarget } from '../../ports/scim-target.ts';

const INTENT_PAGE = 100;

/**
 * Creates a run may have sent without saving their links (it died in between). An object the directory still has
 * needs nothing here: the page is read again and its create finds the account and adopts it. An object the
 * directory no longer has would leave its account behind, active: it is disabled (soft-deleted) or deleted.
 */
export async function resolveCreateIntents(input: {
  intents: CreateIntentStore;
  links: LinkStore;
  source: DirectorySource;
  target: ScimTarget;
  scope: LinkScope;
  hasTime(): boolean;
}): Promise<void> {
  let cursor: string | null = null;
  do {
    if (!input.hasTime()) return;
    const page = await input.intents.list(input.scope, cursor, INTENT_PAGE);
    const linked = await input.links.getMany(input.scope, page.items);
    const unlinked = page.items.filter((intent) => !linked.has(linkId(intent.type, intent.sourceId)));
    const now = unlinked.length > 0 ? await input.source.readObjects(unlinked.map((intent) => ({ type: intent.type, id: intent.sourceId }))) : [];
    for (const [index, intent] of unlinked.entries()) {
      const removed = now[index]?.removed ?? null;
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
