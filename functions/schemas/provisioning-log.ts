import * as z from 'zod/mini';

/** Graph's open `detailsInfo`: a flat map of strings. */
const detailsSchema = z.record(z.string(), z.string());

export const provisioningResultSchema = z.enum(['success', 'warning', 'failure', 'skipped']);
export const provisioningActionSchema = z.enum(['create', 'update', 'delete', 'disable', 'other']);

export const provisioningStepTypeSchema = z.enum(['import', 'scoping', 'matching', 'processing', 'referenceResolution', 'export']);

/** One step of a provisioningObjectSummary (Graph's provisioningStep). */
export const provisioningLogStepSchema = z.object({
  name: z.string(),
  provisioningStepType: provisioningStepTypeSchema,
  status: provisioningResultSchema,
  description: z.string(),
  details: detailsSchema,
});

const identitySchema = z.object({ id: z.string(), displayName: z.string(), identityType: z.string(), details: detailsSchema });
const systemSchema = z.object({ id: z.string(), displayName: z.string(), details: detailsSchema });

/**
 * Graph's `provisioningObjectSummary` (GET /auditLogs/provisioning), as this service writes it: one record per
 * object change a run processed. JSON names and enum values are Graph's (`errorInformation`, a single
 * `servicePrincipal`).
 */
export const provisioningObjectSummarySchema = z.object({
  id: z.string(),
  activityDateTime: z.string(),
  tenantId: z.string(),
  jobId: z.string(),
  cycleId: z.string(),
  changeId: z.string(),
  provisioningAction: provisioningActionSchema,
  durationInMilliseconds: z.int(),
  initiatedBy: z.object({ id: z.string(), displayName: z.string(), initiatorType: z.enum(['user', 'application', 'system']) }),
  servicePrincipal: z.object({ id: z.string(), displayName: z.string() }),
  sourceSystem: systemSchema,
  targetSystem: systemSchema,
  sourceIdentity: identitySchema,
  targetIdentity: identitySchema,
  modifiedProperties: z.array(z.object({ displayName: z.string(), oldValue: z.nullable(z.string()), newValue: z.nullable(z.string()) })),
  provisioningSteps: z.array(provisioningLogStepSchema),
  provisioningStatusInfo: z.object({
    status: provisioningResultSchema,
    errorInformation: z.nullable(
      z.object({
        errorCode: z.string(),
        reason: z.string(),
        additionalDetails: z.nullable(z.string()),
        errorCategory: z.enum(['failure', 'nonServiceFailure']),
        recommendedAction: z.nullable(z.string()),
      }),
    ),
  }),
});

export type ProvisioningObjectSummary = z.infer<typeof provisioningObjectSummarySchema>;
export type ProvisioningLogStep = z.infer<typeof provisioningLogStepSchema>;
