import type { ChangeSubscriptions } from '../ports/change-subscriptions.ts';
import type { DirectoryObjectType, DirectorySource } from '../ports/directory-source.ts';
import type { ScimTarget } from '../ports/scim-target.ts';
import type { TypeFlow } from '../domain/sync-plan.ts';

/** A job connected for a run: where it reads, where it writes, and the policy its secrets and schema set. */
export interface Connection {
  source: DirectorySource;
  target: ScimTarget;
  /** Stable for one target (e.g. a hash of its address), so a job pointed at another target is noticed. */
  targetIdentity: string;
  /** Most deletes and disables one cycle may apply (accidental-deletion prevention); null = no limit. */
  deleteThreshold: number | null;
  /** Objects leaving scope are left as they are in the target (the `SkipOutOfScopeDeletions` secret). */
  skipOutOfScopeDeletions: boolean;
  /** Only users and groups assigned to the job's service principal are in scope (the `SyncAll` secret not true). */
  assignmentScope: boolean;
  /** Members of nested groups count as members of the groups they are nested in (a job setting). */
  flattenGroups: boolean;
  flows: Partial<Record<DirectoryObjectType, TypeFlow>>;
  /**
   * The source's change subscriptions, and which source it is (a hash of its URL and tenant): jobs of one tenant on
   * one source share them. Absent where the source offers none.
   */
  notifications?: { subscriptions: ChangeSubscriptions; sourceKey: string };
  close(): Promise<void>;
}

/** A job cannot run at all (missing or refused credentials, unreachable system): quarantine. */
export class QuarantineError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'QuarantineError';
  }
}
