import * as z from 'zod/mini';
import {
  keyValueSchema,
  metadataEntrySchema,
  synchronizationScheduleSchema,
  synchronizationStatusSchema,
} from './graph.ts';

/** One recorded state change of a job (API transitions and worker outcomes). */
export const transitionSchema = z.object({
  action: z.enum(['create', 'start', 'pause', 'restart', 'patch', 'schema', 'quarantine', 'steadyState']),
  at: z.string(),
  detail: z.optional(z.string()),
});

/**
 * What runs learned of the target's SCIM dialect from its answers, saved so that later runs send only what it takes
 * (a request it refused once is not sent again). Unset = not learned yet; reset when the job moves to another target.
 */
export const targetTraitsSchema = z.object({
  /**
   * How a full listing pages: `startIndex` (RFC 7644), `cursor` (RFC 9865, as AWS IAM Identity Center), or `none`
   * (it cannot be listed completely: accounts are matched by filter queries).
   */
  listing: z.optional(z.enum(['startIndex', 'cursor', 'none'])),
  /** False: the target refuses `attributes`/`excludedAttributes`, so requests go without them. */
  projection: z.optional(z.boolean()),
  /**
   * How members are removed: `pathFilter` (`members[value eq "…"]`, RFC 7644 §3.5.2.2), or `valueList`
   * (`path: members` with the values, as Entra sends it) for a target that refused the first.
   */
  memberRemoval: z.optional(z.enum(['pathFilter', 'valueList'])),
  /**
   * True: the target takes one value per multi-valued user attribute (AWS IAM Identity Center): the primary one is
   * sent, the others are left out.
   */
  singleValues: z.optional(z.boolean()),
});
export type TargetTraits = z.infer<typeof targetTraitsSchema>;

/**
 * What the sync worker owns. The API touches it only to reset (restart) or lift quarantine (start), and then
 * bumps `epoch`, so a worker that holds the lease sees the reset instead of overwriting it.
 */
export const runStateSchema = z.object({
  /** Opaque source position (the directory's nextLink/deltaLink state); null = start a full round. */
  watermark: z.nullable(z.string()),
  /**
   * When an idle round last wrote the watermark it read; null = none has. The watermark in force was read at or
   * after this time: a run's commits since write newer ones without it (see domain/idle-rounds.ts).
   */
  watermarkAt: z._default(z.nullable(z.string()), null),
  epoch: z.int(),
  /** Links of older generations are ignored: restart Full/ConnectorDataStore is one counter bump. */
  linkGeneration: z.int(),
  escrowGeneration: z.int(),
  leaseOwner: z.nullable(z.string()),
  leaseUntil: z.nullable(z.string()),
  /** A start arrived while a run held the lease: the run goes on to a fresh steady state. */
  rerunRequested: z.boolean(),
  /** Some objects wait in escrow for a retry (saves a read on every idle tick when none do). */
  escrowsPending: z._default(z.boolean(), false),
  /** Restart ForceDeletes: the current cycle may delete and disable past the accidental-deletion threshold. */
  forceDeletes: z._default(z.boolean(), false),
  /** Which target the links point into (a hash of its address): another target starts a fresh generation. */
  targetIdentity: z._default(z.nullable(z.string()), null),
  /**
   * Restart Full began a new link generation on the same target: the first full round's end also looks at what
   * the previous generation provisioned (accounts of objects the directory no longer has, memberships it dropped).
   */
  previousLinkGeneration: z._default(z.nullable(z.int()), null),
  /** Some memberships wait for their user to be linked (a new user link then looks for them). */
  pendingMembers: z._default(z.boolean(), false),
  /** A throttled system asked us to wait: no run before this time (a user's start tries at once). */
  notBefore: z._default(z.nullable(z.string()), null),
  /** When the first escrow is next due (no retry pass before then, unless a user starts the job). */
  escrowsDueAt: z._default(z.nullable(z.string()), null),
  /** Restart `Escrows`: the next pass retries every escrow at once, with its failures forgotten. */
  escrowsFresh: z._default(z.boolean(), false),
  /**
   * The digest of the assignments applied in this link generation (`SyncAll` false): a tick that reads the same
   * ones has nothing to do for them.
   */
  assignmentDigest: z._default(z.nullable(z.string()), null),
  /** What runs learned of the target (the one `targetIdentity` names). */
  targetTraits: z._default(targetTraitsSchema, {}),
  /**
   * A restart that keeps the links (`Watermark`, the default) asked for the target to be read back: the round it
   * begins ends by repairing what was changed there behind the job's back.
   */
  reconcileRequested: z._default(z.boolean(), false),
  /** When the target was last known to hold what the links say (a read-back, or a full round that matched it all). */
  reconciledAt: z._default(z.nullable(z.string()), null),
  /**
   * Graph change notifications for the job's source directory (see use-cases/change-notifications.ts): null until
   * the worker first looked, and while the deployment has no webhook URL the state says so.
   */
  notifications: z._default(
    z.nullable(
      z.object({
        state: z.enum(['active', 'notConfigured', 'failed']),
        /** The source directory the subscriptions are on (a hash of its URL and tenant). */
        sourceKey: z.nullable(z.string()),
        /** When the worker next renews them (or tries again after a failure). */
        renewAfter: z.nullable(z.string()),
        message: z.nullable(z.string()),
      }),
    ),
    null,
  ),
  /**
   * The entry counts may be off (a run died between its link writes and its commit, a batch stopped by an error, a
   * provisionOnDemand wrote links): bumped then, and the next round's end counts the links again when it is above
   * `countsVerified` (the value its last count covered). A counter, not a flag: a bump racing a count is not lost.
   */
  countsDirty: z._default(z.int(), 0),
  countsVerified: z._default(z.int(), 0),
  /** Where the next escrow retry pass starts, so every escrow gets its turn however many there are. */
  escrowCursor: z._default(z.nullable(z.string()), null),
  /** The cycle in progress (counters accumulate across pages and runs until the round ends). */
  cycle: z.nullable(
    z.object({
      activityIdentifier: z.string(),
      timeBegan: z.string(),
      countImported: z.int(),
      countImportedDeltas: z.int(),
      countImportedReferenceDeltas: z.int(),
      countExported: z.int(),
      countExports: z.int(),
      countEscrowed: z.int(),
      countEntitled: z.int(),
      pages: z.int(),
      /** Deletes and disables this cycle applied (the accidental-deletion threshold counts these). */
      countDeletes: z._default(z.int(), 0),
      /** Links this cycle created less those it removed, by type: the round's end adds them to the entry counts. */
      linkDelta: z._default(z.object({ User: z.int(), Group: z.int() }), { User: 0, Group: 0 }),
      /** The cycle began from no watermark: every object is read, not just changes. */
      full: z.boolean(),
      /** How many objects the directory holds, read when a full round begins (progress); null = unknown. */
      estimatedTotal: z._default(z.nullable(z.int()), null),
      /** When this full round's read of users, and of groups, last began: the sweep removes what it did not see since. */
      readSince: z._default(z.object({ User: z.nullable(z.string()), Group: z.nullable(z.string()) }), { User: null, Group: null }),
      /** The first refusal of the cycle, for the status (which object, what the target answered). */
      escrowSample: z._default(z.nullable(z.string()), null),
      /**
       * After a full round's last page: removing what the round did not see (what a previous link generation left,
       * memberships, then users, then groups), a page at a time from `cursor`. null = not sweeping.
       */
      sweep: z._default(
        z.nullable(
          z.object({
            stage: z.enum(['previousLinks', 'previousMemberships', 'memberships', 'User', 'Group', 'adoptedGroups']),
            cursor: z.nullable(z.string()),
          }),
        ),
        null,
      ),
      /**
       * After the round's changes (and sweep): reading the target back, user links then group links a page at a
       * time from `cursor`, repairing what differs. null = not reading back.
       */
      reconcile: z._default(
        z.nullable(
          z.object({
            stage: z.enum(['User', 'Group']),
            cursor: z.nullable(z.string()),
            /** Links to look at when it began (progress). */
            total: z.int(),
            /** Accounts and groups read back so far. */
            verified: z.int(),
            /** Those found deleted or changed in the target, or missing memberships, and given back what the mapping produces. */
            repaired: z.int(),
            /** Memberships the target had lost, added again. */
            membershipsRestored: z.int(),
          }),
        ),
        null,
      ),
      /** This cycle read the target back to its end (the status keeps its counts). */
      reconciled: z._default(z.nullable(z.object({ verified: z.int(), repaired: z.int(), membershipsRestored: z.int() })), null),
    }),
  ),
});

export const storedJobSchema = z.object({
  tenantId: z.string(),
  servicePrincipalId: z.string(),
  id: z.string(),
  templateId: z.string(),
  createdDateTime: z.string(),
  version: z.int(),
  /** Interval the user chose, in whole minutes; shown as ISO 8601 in `schedule.interval`. */
  intervalMinutes: z.int().check(z.gte(1)),
  scheduleName: z.string(),
  /** The customised schema in force (see SchemaStore); null = the template's. */
  schemaVersion: z._default(z.nullable(z.int()), null),
  schedule: synchronizationScheduleSchema,
  status: synchronizationStatusSchema,
  synchronizationJobSettings: z.array(keyValueSchema),
  metadata: z.array(metadataEntrySchema),
  run: runStateSchema,
  history: z.array(transitionSchema),
});

/**
 * The rounds that found nothing to do since the job item was last written, in an item of their own beside it, so
 * that an idle tick writes this small item instead of the whole job: the last one's activity id and time (the status
 * shows it as the last execution). In force only while the job's `version` is still `basis` (see
 * domain/idle-rounds.ts); absent for a job that had none, and for jobs stored before it existed.
 */
export const idleRoundsSchema = z.object({
  basis: z.int(),
  /** The position the round reached, as items written before rounds kept the job's own held it. */
  watermark: z.optional(z.string()),
  activityIdentifier: z.string(),
  at: z.string(),
});

export type Transition = z.infer<typeof transitionSchema>;
export type IdleRounds = z.infer<typeof idleRoundsSchema>;
export type RunState = z.infer<typeof runStateSchema>;
export type Cycle = NonNullable<RunState['cycle']>;
export type StoredJob = z.infer<typeof storedJobSchema>;

/** Addresses one job of one tenant's service principal. */
export interface JobKey {
  tenantId: string;
  servicePrincipalId: string;
  jobId: string;
}
