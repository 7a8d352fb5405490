import type { DirectoryObjectType } from './directory-source.ts';

/** Which job's state, and which generation of it (restart Full starts a new, empty generation). */
export interface LinkScope {
  tenantId: string;
  jobId: string;
  generation: number;
}

/** One object of the directory, by type and source id. */
export interface ObjectRef {
  type: DirectoryObjectType;
  sourceId: string;
}

/**
 * What this job knows about one provisioned object: where it lives in the target, what was last sent, and what
 * the directory last said of it. Bounded in size: group membership lives in its own items (MembershipStore).
 */
export interface ObjectLink extends ObjectRef {
  targetId: string;
  /** The flat target attributes last exported; an object mapping to the same values costs nothing. */
  exported: Record<string, unknown>;
  /** The selected source attributes last read: the base an update carrying only what changed is read against. */
  source: Record<string, unknown>;
  /** When the directory last reported the object present (a full round's end removes what it did not see). */
  seenAt: string;
  /**
   * A group adopted from the target during a full round: its members beyond the directory's are removed at the
   * round's end, once the round has read them all.
   */
  membersUnverified?: boolean;
  /** Deprovisioned (or left alone) for being out of scope: a group that brings it back in reads it again. */
  outOfScope?: boolean;
}

export function linkId(type: DirectoryObjectType, sourceId: string): string {
  return `${type}#${sourceId}`;
}

/** A `before` later than any time stamp: `listUnseen` then lists every link of a type (or every membership). */
export const LIST_ALL = '\uffff';

/** One page of a listing and where the next one starts (null = that was the last). */
export interface ListPage<T> {
  items: T[];
  cursor: string | null;
}

/** The source↔target link store (Entra's "connector data store"). Writes are idempotent upserts. */
export interface LinkStore {
  /** Strongly consistent: a page needs what the previous page wrote. */
  getMany(scope: LinkScope, ids: ObjectRef[]): Promise<Map<string, ObjectLink>>;
  putMany(scope: LinkScope, links: ObjectLink[]): Promise<void>;
  deleteMany(scope: LinkScope, ids: ObjectRef[]): Promise<void>;
  /** Links of a type the directory last reported before `before` (strongly consistent), a page at a time. */
  listUnseen(scope: LinkScope, type: DirectoryObjectType, before: string, cursor: string | null, limit: number): Promise<ListPage<ObjectLink>>;
  /** Group links whose target members are still to be checked against the directory's (adopted groups). */
  listUnverifiedGroups(scope: LinkScope, cursor: string | null, limit: number): Promise<ListPage<ObjectLink>>;
  /** How many links of each type the scope holds (synchronizedEntryCountByType). */
  count(scope: LinkScope): Promise<Record<DirectoryObjectType, number>>;
}

/**
 * One directory membership of a user in a group, and where the target stands on it:
 * `present` = the target has it; `add` = the target should get it (the user or group is not linked yet, or the
 * request was refused); `remove` = the directory dropped it but the target still has it (the request was refused).
 */
export interface Membership {
  groupId: string;
  userId: string;
  state: 'present' | 'add' | 'remove';
  /** When the directory last reported it (a full round's end removes the memberships it did not see). */
  seenAt: string;
}

/**
 * Group memberships, one item per membership (never a list that grows with the group), findable by group; those
 * waiting for their user (`add`) are findable by user too. Reads are strongly consistent.
 */
export interface MembershipStore {
  getMany(scope: LinkScope, pairs: { groupId: string; userId: string }[]): Promise<Membership[]>;
  /** Writes the memberships; one in state `add` is also indexed under its user. */
  putMany(scope: LinkScope, memberships: Membership[]): Promise<void>;
  deleteMany(scope: LinkScope, pairs: { groupId: string; userId: string }[]): Promise<void>;
  /** Drops the user index of memberships that no longer wait (they were `add`). */
  unindex(scope: LinkScope, pairs: { groupId: string; userId: string }[]): Promise<void>;
  /** A group's memberships, a page at a time; `pendingOnly` leaves out the `present` ones. */
  listByGroup(scope: LinkScope, groupId: string, cursor: string | null, limit: number, pendingOnly?: boolean): Promise<ListPage<Membership>>;
  /** The groups whose membership of this user waits for it (state `add`). */
  waitingGroupsOf(scope: LinkScope, userId: string): Promise<string[]>;
  /** The same for many users at once, by user (absent: none); as few reads as the store can. */
  waitingGroupsOfMany(scope: LinkScope, userIds: string[]): Promise<Map<string, string[]>>;
  /** Memberships the directory last reported before `before`, across all groups, a page at a time. */
  listUnseen(scope: LinkScope, before: string, cursor: string | null, limit: number): Promise<ListPage<Membership>>;
}
