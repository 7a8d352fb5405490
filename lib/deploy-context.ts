import { z } from 'zod';

const commaList = (item: z.ZodString) =>
  z
    .string()
    .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part.length > 0))
    .pipe(z.array(item).min(1));

const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;
/** Entra's v2 issuer (`{login base}/{tid}/v2.0`) and v1 issuer (`https://sts.windows.net/{tid}/`). */
const V2_ISSUER = /^(https:\/\/[^/]+)\/([A-Za-z0-9-]{1,64})\/v2\.0$/;
const V1_ISSUER = /^https:\/\/sts\.windows\.net\/([A-Za-z0-9-]{1,64})\/$/;

/**
 * The values an operator passes with `-c name=value` at synth or deploy time. The tenants and the audience may also
 * be left out here and given as CloudFormation parameters instead (`--parameters AllowedTenants=... JwtAudience=...`).
 */
export const deployContextSchema = z.object({
  /** CloudFormation stack name; a second copy of the service in one account and Region needs a different one. */
  stackName: z.string().regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/).default('GraphSyncJobs'),
  /** Entra tenants whose tokens the API accepts: tenant ids, comma-separated, or `any` (then `appIds` is required). */
  tenants: z.union([z.literal('any'), commaList(z.string().regex(TENANT_ID, 'a tenant id is a GUID'))]).optional(),
  /** Client app ids (`azp`/`appid` of the token) admitted, comma-separated; any app of an admitted tenant when unset. */
  appIds: commaList(z.string()).optional(),
  /**
   * One tenant, as before `tenants` existed: that tenant's v2 issuer `https://login.microsoftonline.com/<tid>/v2.0`
   * (or v1 `https://sts.windows.net/<tid>/`). Means `-c tenants=<tid>`.
   */
  issuer: z.url({ protocol: /^https$/ }).optional(),
  /** Entra's login base the key sets are read from; another one for a national cloud (`https://login.microsoftonline.us`). */
  loginBaseUrl: z.url({ protocol: /^https$/ }).optional(),
  /** Accepted token audiences (the API app registration's client id or Application ID URI), comma-separated. */
  audience: commaList(z.string()).optional(),
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

/** The context once `issuer` is read as the one tenant it names. */
export type DeployContext = Omit<z.infer<typeof deployContextSchema>, 'issuer'>;

/**
 * Reads and validates the deploy context; fails the synth with the names of the bad values. A client secret without
 * its client id is refused because the worker could not use it; `tenants=any` without `appIds` because any Entra
 * tenant could then call once its admin consents to the API app; an `issuer` is read as its one tenant.
 */
export function parseDeployContext(read: (key: string) => unknown): DeployContext {
  const raw = Object.fromEntries(Object.keys(deployContextSchema.shape).map((key) => [key, read(key)]));
  const parsed = deployContextSchema
    .refine((context) => context.sourceClientSecretArn === undefined || context.sourceClientId !== undefined, {
      message: 'sourceClientSecretArn needs sourceClientId',
      path: ['sourceClientId'],
    })
    .refine((context) => context.tenants !== 'any' || context.appIds !== undefined, {
      message: 'tenants=any needs appIds (the client app ids admitted, comma-separated)',
      path: ['appIds'],
    })
    .refine((context) => context.issuer === undefined || context.tenants === undefined, {
      message: 'give tenants or issuer, not both (issuer names one tenant: use tenants=<tid>,<tid> for several)',
      path: ['issuer'],
    })
    .refine((context) => context.issuer === undefined || V2_ISSUER.test(context.issuer) || V1_ISSUER.test(context.issuer), {
      message: "an Entra issuer is https://login.microsoftonline.com/<tenant-id>/v2.0 (or v1's https://sts.windows.net/<tenant-id>/); or use tenants=<tenant-id>",
      path: ['issuer'],
    })
    .safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`Invalid deploy context (-c): ${problems}`);
  }
  const { issuer, ...context } = parsed.data;
  if (issuer === undefined) return context;
  const v2 = V2_ISSUER.exec(issuer);
  const tenant = v2?.[2] ?? (V1_ISSUER.exec(issuer)?.[1] as string);
  // A v2 issuer of a national cloud names its login base too.
  const loginBaseUrl = context.loginBaseUrl ?? (v2 && v2[1] !== 'https://login.microsoftonline.com' ? v2[1] : undefined);
  return { ...context, tenants: [tenant], ...(loginBaseUrl ? { loginBaseUrl } : {}) };
}
