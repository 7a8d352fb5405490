export type DirectoryObjectType = 'User' | 'Group';

/** One changed object of a page, in domain terms (never Graph's wire JSON). */
export interface DirectoryObject {
  type: DirectoryObjectType;
  id: string;
  /**
   * Selected attributes as this entry carries them, never `id`. A new object comes whole; an update may carry only
   * what changed (Graph promises "at least the properties that have been updated"): a missing key is unchanged,
   * null is cleared.
   */
  attributes: Record<string, unknown>;
  /** Group members (user ids) added on this page; on a full read, every current member. */
  membersAdded: string[];
  /** Group members (user ids) removed on this page. */
  membersRemoved: string[];
  /** `changed` = soft-deleted (restorable), `deleted` = permanently gone, null = present. */
  removed: null | 'changed' | 'deleted';
  /**
   * A group whose member groups changed on this page (a nested group added or removed): what its flattened
   * membership holds may have changed though no user member did.
   */
  memberGroupsChanged?: true;
}

/**
 * Who is assigned to the application: the principals of its service principal's `appRoleAssignedTo`, whatever
 * the role. Users are in scope themselves; groups with their direct members.
 */
export interface Assignments {
  users: string[];
  groups: string[];
}

export interface DirectoryPage {
  /** Each object at most once per page (pages that split a group are merged by the adapter). */
  objects: DirectoryObject[];
  /** Opaque position to read the next page from; save it only after the page was applied. */
  watermark: string;
  /** True when this page ended the round: users then groups are both at their delta links. */
  roundComplete: boolean;
  /**
   * The types whose full read (re)started with this page: what was read of them before (say, by a run that died
   * before saving its position) is no evidence that it still exists.
   */
  began?: DirectoryObjectType[];
}

/** The saved position is no longer accepted (expired delta token, 410): read everything again. */
export class ResyncRequiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResyncRequiredError';
  }
}

/**
 * The directory cannot be read at all (bad credentials, unreachable, a request it refuses): the job goes to
 * quarantine. `tenantActionable: false` marks an answer that is not what was asked for (a body that is not a delta
 * page, a paging link to another host). Throttling and brief outages are not this: they are `ThrottledError`.
 */
export class SourceUnavailableError extends Error {
  constructor(message: string, readonly tenantActionable = true) {
    super(message);
    this.name = 'SourceUnavailableError';
  }
}

/**
 * Reads the tenant directory's changes one page at a time (Microsoft Graph delta query on users, then groups).
 * A failed or partial read throws; it never yields an empty page that could be taken for "everything is gone".
 * Failures are typed: {@link ResyncRequiredError}, `ThrottledError` (slow down: the run pauses until `retryAt`),
 * {@link SourceUnavailableError} (quarantine, see there).
 */
export interface DirectorySource {
  /** null = start a full round (initial sync or after a reset). */
  readPage(watermark: string | null): Promise<DirectoryPage>;
  /**
   * Objects by id, as they are now, whole (no member changes; a user's `manager` as its id, when selected). One the directory no longer has comes back removed:
   * `changed` when it is soft-deleted (restorable), `deleted` when it is gone for good.
   */
  readObjects(refs: { type: DirectoryObjectType; id: string }[]): Promise<DirectoryObject[]>;
  /**
   * The ids of a group's user members, now: direct ones (nested groups are not members here, as in Entra), or with
   * `transitive` every user of its member groups too, at any depth.
   */
  readMembers(groupId: string, options?: { transitive?: boolean }): Promise<string[]>;
  /** The ids of the groups a user is a direct member of, now; with `transitive`, their ancestors too. */
  readMemberOf(userId: string, options?: { transitive?: boolean }): Promise<string[]>;
  /** The ids of the groups a group is nested in, at any depth (`transitiveMemberOf`); never the group itself. */
  readAncestors(groupId: string): Promise<string[]>;
  /**
   * The application's assignments (`GET /servicePrincipals/{id}/appRoleAssignedTo`, every page). A service
   * principal the directory does not have is a {@link SourceUnavailableError} that says so.
   */
  readAssignments(servicePrincipalId: string): Promise<Assignments>;
  /** How many users and groups the directory holds (progress of a full round); null when it cannot say. */
  countObjects(): Promise<number | null>;
}
