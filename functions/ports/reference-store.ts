import type { LinkScope } from './link-store.ts';

/**
 * One user's reference to another (its manager): kept so that the report is written again when the user it names
 * is provisioned (the reference waits until then) or leaves scope (the reference is cleared).
 */
export interface Reference {
  /** The user named (the manager). */
  referencedId: string;
  /** The user holding the reference (the report). */
  holderId: string;
  /** The named user has no account in the target yet: the reference is not sent. */
  waiting: boolean;
}

export interface ReferenceStore {
  /** Every reference naming this user (strongly consistent). */
  holdersOf(scope: LinkScope, referencedId: string): Promise<Reference[]>;
  /** The references naming each of these users, by user (absent: none); as few reads as the store can. */
  holdersOfMany(scope: LinkScope, referencedIds: string[]): Promise<Map<string, Reference[]>>;
  putMany(scope: LinkScope, references: Reference[]): Promise<void>;
  deleteMany(scope: LinkScope, references: Omit<Reference, 'waiting'>[]): Promise<void>;
}
