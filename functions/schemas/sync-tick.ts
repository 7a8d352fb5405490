import * as z from 'zod/mini';

/** What the sync worker receives, from a schedule tick or from start ("sync now"). Validated first thing. */
export const syncTickSchema = z.object({
  tenantId: z.string().check(z.minLength(1)),
  servicePrincipalId: z.string().check(z.minLength(1)),
  jobId: z.string().check(z.minLength(1)),
  /** `<aws.scheduler.scheduled-time>` for schedule ticks. */
  scheduledTime: z.optional(z.string()),
  /**
   * `schedule`: a tick; `start`: a user's start or restart ("sync now"); `continue`: the engine carrying on;
   * `notification`: the source reported a change (Graph change notifications).
   */
  trigger: z.enum(['schedule', 'start', 'continue', 'notification']),
  /** A lifecycle notification asked for the source's subscriptions to be renewed now. */
  renewSubscriptions: z.optional(z.boolean()),
  /** The notified source (a `notification` tick): a paused or deleted job is taken off its list. */
  sourceKey: z.optional(z.string().check(z.maxLength(64))),
});

export type SyncTick = z.infer<typeof syncTickSchema>;

/** Test the target credentials (saved ones, or the given pairs) without running anything: validateCredentials. */
export const validateCredentialsRequestSchema = z.object({
  action: z.literal('validateCredentials'),
  tenantId: z.string().check(z.minLength(1)),
  servicePrincipalId: z.string().check(z.minLength(1)),
  jobId: z.string().check(z.minLength(1)),
  /** null = the saved secrets. */
  credentials: z.nullable(z.array(z.object({ key: z.string(), value: z.string() }))),
});

export const credentialsValidationSchema = z.discriminatedUnion('valid', [
  z.object({ valid: z.literal(true) }),
  z.object({ valid: z.literal(false), reason: z.enum(['jobNotFound', 'invalid']), message: z.string() }),
]);

/** provisionOnDemand: these objects (and a group's listed members) now, outside the schedule. */
export const provisionOnDemandRequestSchema = z.object({
  action: z.literal('provisionOnDemand'),
  tenantId: z.string().check(z.minLength(1)),
  servicePrincipalId: z.string().check(z.minLength(1)),
  jobId: z.string().check(z.minLength(1)),
  subjects: z
    .array(
      z.object({
        objectId: z.string().check(z.minLength(1), z.maxLength(64)),
        objectTypeName: z.enum(['User', 'Group']),
        members: z.array(z.string().check(z.minLength(1), z.maxLength(64))).check(z.maxLength(5)),
      }),
    )
    .check(z.minLength(1), z.maxLength(5)),
});

/** One step of an on-demand provisioning, as Graph's provisioningStep reports it. */
export const provisioningStepSchema = z.object({
  name: z.string(),
  type: z.enum(['Import', 'Matching', 'Scoping', 'Export', 'Other']),
  status: z.enum(['success', 'failure', 'skipped', 'warning']),
  description: z.string(),
  timestamp: z.string(),
  details: z.record(z.string(), z.string()),
});

export const provisionOnDemandResultSchema = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('jobNotFound') }),
  z.object({ outcome: z.literal('notReady'), message: z.string() }),
  z.object({
    outcome: z.literal('done'),
    result: z.enum(['Success', 'Failure', 'Skipped']),
    steps: z.array(provisioningStepSchema),
    startTime: z.string(),
    endTime: z.string(),
    changeId: z.string(),
  }),
]);

/**
 * Remove what a deleted job left behind (its partition and its schema items), from the job's purge schedule, which
 * fires every minute until the purge is complete. `scheduleName` is that schedule: the job item is gone by then.
 */
export const purgeJobEventSchema = z.object({
  action: z.literal('purgeJob'),
  tenantId: z.string().check(z.minLength(1)),
  servicePrincipalId: z.string().check(z.minLength(1)),
  jobId: z.string().check(z.minLength(1)),
  scheduleName: z.string().check(z.regex(/^[0-9a-zA-Z-_.]{1,64}$/)),
});

/** Everything the worker is invoked with. */
export const workerEventSchema = z.union([
  validateCredentialsRequestSchema,
  provisionOnDemandRequestSchema,
  purgeJobEventSchema,
  syncTickSchema,
]);

export type ValidateCredentialsRequest = z.infer<typeof validateCredentialsRequestSchema>;
export type CredentialsValidation = z.infer<typeof credentialsValidationSchema>;
export type ProvisionOnDemandRequest = z.infer<typeof provisionOnDemandRequestSchema>;
export type ProvisionOnDemandResult = z.infer<typeof provisionOnDemandResultSchema>;
export type ProvisioningStep = z.infer<typeof provisioningStepSchema>;
export type PurgeJobEvent = z.infer<typeof purgeJobEventSchema>;
