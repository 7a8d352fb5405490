import { z } from 'zod';

/** What the sync worker receives, from a schedule tick or from start ("sync now"). Validated first thing. */
export const syncTickSchema = z.object({
  tenantId: z.string().min(1),
  servicePrincipalId: z.string().min(1),
  jobId: z.string().min(1),
  /** `<aws.scheduler.scheduled-time>` for schedule ticks. */
  scheduledTime: z.string().optional(),
  trigger: z.enum(['schedule', 'start']),
});

export type SyncTick = z.infer<typeof syncTickSchema>;

/** Test the target credentials (saved ones, or the given pairs) without running anything: validateCredentials. */
export const validateCredentialsRequestSchema = z.object({
  action: z.literal('validateCredentials'),
  tenantId: z.string().min(1),
  servicePrincipalId: z.string().min(1),
  jobId: z.string().min(1),
  /** null = the saved secrets. */
  credentials: z.array(z.object({ key: z.string(), value: z.string() })).nullable(),
});

export const credentialsValidationSchema = z.discriminatedUnion('valid', [
  z.object({ valid: z.literal(true) }),
  z.object({ valid: z.literal(false), reason: z.enum(['jobNotFound', 'invalid']), message: z.string() }),
]);

/** Everything the worker is invoked with. */
export const workerEventSchema = z.union([validateCredentialsRequestSchema, syncTickSchema]);

export type ValidateCredentialsRequest = z.infer<typeof validateCredentialsRequestSchema>;
export type CredentialsValidation = z.infer<typeof credentialsValidationSchema>;
