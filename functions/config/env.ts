import * as z from 'zod/mini';

/**
 * The environment every Lambda of the deployed stack reads, parsed once at cold start. A missing resource name
 * fails the cold start loudly instead of surfacing later as a confusing AWS error. Values here are not secrets.
 */
export const deployedEnvSchema = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  /** KMS key that encrypts the target credentials (key id or ARN). */
  SECRETS_KEY_ID: z.string().check(z.minLength(1)),
  SCHEDULE_GROUP_NAME: z.string().check(z.minLength(1)),
  /** Role EventBridge Scheduler assumes to invoke the sync worker. */
  SCHEDULER_ROLE_ARN: z.string().check(z.minLength(1)),
  SYNC_FUNCTION_ARN: z.string().check(z.minLength(1)),
  SCHEDULER_DLQ_ARN: z.optional(z.string().check(z.minLength(1))),
  /** Spreads thousands of jobs' ticks over this many minutes; 0 fires exactly on the rate. */
  SCHEDULE_FLEXIBLE_WINDOW_MINUTES: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(1440)), 0),
  /** Source app registration (client credentials) used for every tenant unless its secrets override it. */
  SOURCE_CLIENT_ID: z.optional(z.string().check(z.minLength(1))),
  /** Secrets Manager secret holding that app registration's client secret. */
  SOURCE_CLIENT_SECRET_ARN: z.optional(z.string().check(z.minLength(1))),
  SOURCE_GRAPH_BASE_URL: z._default(z.url(), 'https://graph.microsoft.com/v1.0'),
  SOURCE_LOGIN_BASE_URL: z._default(z.url(), 'https://login.microsoftonline.com'),
  /**
   * How long a deleted job's purge keeps looking for late writes: a run in flight at the deletion may write one
   * more page until the worker's timeout ends it, so the stack sets this above that timeout.
   */
  JOB_PURGE_SETTLE_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(86_400)), 360),
  /** Concurrent requests one job sends its SCIM target. */
  SCIM_CONCURRENCY: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(64)), 8),
  /** Refusals one cycle must reach before Entra's escrow thresholds (40% refused, or 40,000) quarantine the job. */
  ESCROW_THRESHOLD_MINIMUM: z._default(z.coerce.number().check(z.int(), z.gte(1)), 5000),
  /** How long provisioning-log records are kept (DynamoDB TTL deployed; never returned past it anywhere). */
  PROVISIONING_LOG_RETENTION_DAYS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(365)), 30),
  /** Quotas: jobs one service principal, and one tenant, may have (a creation over either is a 403 saying which). */
  MAX_JOBS_PER_SERVICE_PRINCIPAL: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(10_000)), 20),
  MAX_JOBS_PER_TENANT: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(1_000_000)), 2_000),
  /**
   * The public URL of the webhook (`POST /notifications` of the API) that Graph change notifications are sent to;
   * without it jobs run on their schedule alone.
   */
  NOTIFICATION_URL: z.optional(z.url()),
  /** How long a run woken by a change notification waits for the rest of a burst before it reads. */
  NOTIFICATION_SETTLE_MS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(10_000)), 1_000),
  /** Endpoint overrides: the local stack points the same SDK adapters at dynalite and its emulators. */
  DYNAMODB_ENDPOINT: z.optional(z.url()),
  SCHEDULER_ENDPOINT: z.optional(z.url()),
  LAMBDA_ENDPOINT: z.optional(z.url()),
  /** Local mode only: base64 of a 32-byte key replacing KMS, and the local directory as the default source. */
  LOCAL_SECRETS_KEY: z.optional(z.string().check(z.minLength(1))),
  LOCAL_SOURCE_BASE_URL: z.optional(z.url()),
});

export type DeployedEnv = z.infer<typeof deployedEnvSchema>;

export function parseDeployedEnv(env: NodeJS.ProcessEnv = process.env): DeployedEnv {
  const parsed = deployedEnvSchema.safeParse(env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw new Error(`Invalid Lambda environment: ${names}`);
  }
  return parsed.data;
}
