import { z } from 'zod';

/**
 * The values an operator passes with `-c name=value` at synth or deploy time. The JWT issuer and audience may also be
 * left out here and given as CloudFormation parameters instead (`--parameters JwtIssuer=... JwtAudience=...`).
 */
export const deployContextSchema = z.object({
  /** CloudFormation stack name; a second copy of the service in one account and Region needs a different one. */
  stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/).default('GraphSyncJobs'),
  /** Token issuer the API accepts, e.g. `https://login.microsoftonline.com/<tenant-id>/v2.0`. */
  issuer: z.url({ protocol: /^https$/ }).optional(),
  /** Accepted token audiences (the API app registration's client id or Application ID URI), comma-separated. */
  audience: z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part.length > 0))
    .pipe(z.array(z.string()).min(1))
    .optional(),
  /** Client id of the app registration the worker reads the source directory with. */
  sourceClientId: z.string().min(1).optional(),
  /** ARN of the Secrets Manager secret (created by the operator) holding that app registration's client secret. */
  sourceClientSecretArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/)
    .optional(),
  /** Spreads the jobs' ticks over this many minutes (worth setting above about 1,000 jobs on a one-minute rate). */
  flexibleWindowMinutes: z.coerce.number().int().min(0).max(1440).optional(),
  /**
   * The public URL Graph sends change notifications to: the API's `/notifications` route, e.g.
   * `https://<api-id>.execute-api.<region>.amazonaws.com/notifications` (known after the first deploy) or a custom
   * domain's. Without it, jobs run on their schedule alone.
   */
  notificationUrl: z.url({ protocol: /^https$/ }).optional(),
  /**
   * Reserved concurrency of the sync worker: the most runs at once (default 200), so a burst of ticks or initial
   * syncs never takes the concurrency the API functions answer with. 0 reserves none (an account whose limit is
   * below the worker's reservation plus Lambda's 100 unreserved minimum, e.g. a new account's 10).
   */
  workerConcurrency: z.coerce.number().int().min(0).max(10_000).default(200),
  /** Quotas: jobs one service principal, and one tenant, may have (the API's defaults are 20 and 2,000). */
  maxJobsPerServicePrincipal: z.coerce.number().int().min(1).max(10_000).optional(),
  maxJobsPerTenant: z.coerce.number().int().min(1).max(1_000_000).optional(),
});

export type DeployContext = z.infer<typeof deployContextSchema>;

/**
 * Reads and validates the deploy context; fails the synth with the names of the bad values. A client secret without
 * its client id is refused because the worker could not use it.
 */
export function parseDeployContext(read: (key: string) => unknown): DeployContext {
  const raw = Object.fromEntries(Object.keys(deployContextSchema.shape).map((key) => [key, read(key)]));
  const parsed = deployContextSchema
    .refine((context) => context.sourceClientSecretArn === undefined || context.sourceClientId !== undefined, {
      message: 'sourceClientSecretArn needs sourceClientId',
      path: ['sourceClientId'],
    })
    .safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid deploy context (-c): ${problems}`);
  }
  return parsed.data;
}
