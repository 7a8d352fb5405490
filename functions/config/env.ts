import { z } from 'zod';

/**
 * The environment every Lambda of the deployed stack reads, parsed once at cold start. A missing resource name
 * fails the cold start loudly instead of surfacing later as a confusing AWS error. Values here are not secrets.
 */
export const deployedEnvSchema = z.object({
  TABLE_NAME: z.string().min(1),
  /** KMS key that encrypts the target credentials (key id or ARN). */
  SECRETS_KEY_ID: z.string().min(1),
  SCHEDULE_GROUP_NAME: z.string().min(1),
  /** Role EventBridge Scheduler assumes to invoke the sync worker. */
  SCHEDULER_ROLE_ARN: z.string().min(1),
  SYNC_FUNCTION_ARN: z.string().min(1),
  SCHEDULER_DLQ_ARN: z.string().min(1).optional(),
  /** Spreads thousands of jobs' ticks over this many minutes; 0 fires exactly on the rate. */
  SCHEDULE_FLEXIBLE_WINDOW_MINUTES: z.coerce.number().int().min(0).max(1440).default(0),
  /** Source app registration (client credentials) used for every tenant unless its secrets override it. */
  SOURCE_CLIENT_ID: z.string().min(1).optional(),
  /** Secrets Manager secret holding that app registration's client secret. */
  SOURCE_CLIENT_SECRET_ARN: z.string().min(1).optional(),
  SOURCE_GRAPH_BASE_URL: z.string().url().default('https://graph.microsoft.com/v1.0'),
  SOURCE_LOGIN_BASE_URL: z.string().url().default('https://login.microsoftonline.com'),
  /**
   * How long a deleted job's purge keeps looking for late writes: a run in flight at the deletion may write one
   * more page until the worker's timeout ends it, so the stack sets this above that timeout.
   */
  JOB_PURGE_SETTLE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(360),
  /** Concurrent requests one job sends its SCIM target. */
  SCIM_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** Refusals one cycle must reach before Entra's escrow thresholds (40% refused, or 40,000) quarantine the job. */
  ESCROW_THRESHOLD_MINIMUM: z.coerce.number().int().min(1).default(5000),
  /** How long provisioning-log records are kept (DynamoDB TTL deployed; never returned past it anywhere). */
  PROVISIONING_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Quotas: jobs one service principal, and one tenant, may have (a creation over either is a 403 saying which). */
  MAX_JOBS_PER_SERVICE_PRINCIPAL: z.coerce.number().int().min(1).max(10_000).default(20),
  MAX_JOBS_PER_TENANT: z.coerce.number().int().min(1).max(1_000_000).default(2_000),
  /**
   * The public URL of the webhook (`POST /notifications` of the API) that Graph change notifications are sent to;
   * without it jobs run on their schedule alone.
   */
  NOTIFICATION_URL: z.string().url().optional(),
  /** How long a run woken by a change notification waits for the rest of a burst before it reads. */
  NOTIFICATION_SETTLE_MS: z.coerce.number().int().min(0).max(10_000).default(1_000),
  /** Endpoint overrides: the local stack points the same SDK adapters at dynalite and its emulators. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  SCHEDULER_ENDPOINT: z.string().url().optional(),
  LAMBDA_ENDPOINT: z.string().url().optional(),
  /** Local mode only: base64 of a 32-byte key replacing KMS, and the local directory as the default source. */
  LOCAL_SECRETS_KEY: z.string().min(1).optional(),
  LOCAL_SOURCE_BASE_URL: z.string().url().optional(),
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
