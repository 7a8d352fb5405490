import path from 'node:path';
import { z } from 'zod';
import { scimProfileNames } from './scim-service/local-scim-service.ts';

/** The local stack's settings, from the environment (all optional). */
export const localEnvSchema = z.object({
  LOCAL_DATA_DIR: z.string().default('.local'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** The same API over https, with a local CA and certificate made in LOCAL_DATA_DIR/tls on first start. */
  HTTPS_PORT: z.coerce.number().int().min(0).max(65535).default(3443),
  DYNAMODB_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  SOURCE_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  SCIM_PORT: z.coerce.number().int().min(0).max(65535).default(3002),
  SCHEDULER_PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  LAMBDA_PORT: z.coerce.number().int().min(0).max(65535).default(3004),
  /** The local identity provider (token issuer and key sets, in the style of login.microsoftonline.com). */
  LOGIN_PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  /**
   * Tenants whose tokens the local API accepts: `any` (the local identity provider signs for whichever tenant
   * `npm run token -- --tenant` names), or comma-separated tenant ids, as `-c tenants=` deployed.
   */
  LOCAL_TENANTS: z.string().min(1).default('any'),
  /** Client app ids (`azp`) accepted, comma-separated; any when unset. Local tokens carry `local-cli`. */
  LOCAL_APP_IDS: z.string().min(1).optional(),
  LOCAL_SEED_USERS: z.coerce.number().int().min(0).default(25),
  LOCAL_SEED_GROUPS: z.coerce.number().int().min(0).default(3),
  LOCAL_SCIM_TOKEN: z.string().min(1).default('local-scim-token'),
  /** Whose rules the local SCIM service follows: RFC 7644's, or AWS IAM Identity Center's (`aws-identity-center`). */
  LOCAL_SCIM_PROFILE: z.enum(scimProfileNames).default('rfc7644'),
  /** Requests per second above which the local SCIM app answers 429 with Retry-After; unlimited when unset. */
  LOCAL_SCIM_RATE_LIMIT: z.coerce.number().positive().optional(),
  /** Requests the local SCIM app's rate limit lets through at once after a quiet spell; default the rate. */
  LOCAL_SCIM_RATE_BURST: z.coerce.number().min(1).optional(),
  /** How often the Scheduler emulator looks for due schedules, in milliseconds. */
  SCHEDULER_POLL_MS: z.coerce.number().int().min(100).default(5000),
});

export type LocalEnv = z.infer<typeof localEnvSchema>;

export function parseLocalEnv(env: NodeJS.ProcessEnv = process.env): LocalEnv {
  return localEnvSchema.parse(env);
}

export function localDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(parseLocalEnv(env).LOCAL_DATA_DIR);
}
