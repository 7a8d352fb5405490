import type { LinkScope, ListPage, ObjectRef } from './link-store.ts';

/**
 * An object the target refused (Entra's escrow): only what to retry and why. A retry reads the object again, so it
 * always applies the object's current state, and an object deleted meanwhile is never brought back.
 */
export interface Escrow extends ObjectRef {
  /** What the target answered, for the status and the logs. */
  error: string;
  /** Failed attempts so far (1 after the first refusal). */
  attempts: number;
  firstFailedAt: string;
  /** Not retried before this time (back-off grows with the attempts). */
  nextAttemptAt: string;
}

export interface EscrowStore {
  getMany(scope: LinkScope, refs: ObjectRef[]): Promise<Escrow[]>;
  putMany(scope: LinkScope, escrows: Escrow[]): Promise<void>;
  deleteMany(scope: LinkScope, refs: ObjectRef[]): Promise<void>;
  /** Every escrow in key order, a page at a time (the caller picks the due ones). */
  list(scope: LinkScope, cursor: string | null, limit: number): Promise<ListPage<Escrow>>;
}
