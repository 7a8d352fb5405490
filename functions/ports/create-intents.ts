import type { ScimResourceType } from './scim-target.ts';
import type { LinkScope, ListPage, ObjectRef } from './link-store.ts';

/**
 * A create about to be sent, written before it is: should the run die between the target's answer and the link
 * being saved, the account exists with nothing pointing at it. The next run finds it by its matching values and,
 * if the directory no longer has the object, deprovisions it instead of leaving it active.
 */
export interface CreateIntent extends ObjectRef {
  resourceType: ScimResourceType;
  /** The account's matching attributes and values, in the order they are tried. */
  matches: { attribute: string; value: string }[];
}

export interface CreateIntentStore {
  putMany(scope: LinkScope, intents: CreateIntent[]): Promise<void>;
  deleteMany(scope: LinkScope, refs: ObjectRef[]): Promise<void>;
  list(scope: LinkScope, cursor: string | null, limit: number): Promise<ListPage<CreateIntent>>;
}
