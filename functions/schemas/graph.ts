import * as z from 'zod/mini';

/** Graph's JSON for the synchronization resources (names and enum values exactly as Graph spells them). */

export const MIN_DATE_TIME = '0001-01-01T00:00:00Z';
/** .NET TimeSpan.MaxValue, which Graph shows as the interval of a job that has never been scheduled. */
export const MAX_TIME_SPAN = 'P10675199DT2H48M5.4775807S';

export const scheduleStateSchema = z.enum(['Active', 'Disabled', 'Paused']);
export const statusCodeSchema = z.enum(['NotConfigured', 'NotRun', 'Active', 'Paused', 'Quarantine']);
export const executionStateSchema = z.enum(['Succeeded', 'Failed', 'EntryLevelErrors']);
export const quarantineReasonSchema = z.enum([
  'EncounteredBaseEscrowThreshold',
  'EncounteredTotalEscrowThreshold',
  'EncounteredEscrowProportionThreshold',
  'EncounteredQuarantineException',
  'Unknown',
  'QuarantinedOnDemand',
  'TooManyDeletes',
  'IngestionInterrupted',
]);

export const synchronizationErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  tenantActionable: z.boolean(),
});

export const taskExecutionSchema = z.object({
  activityIdentifier: z.string(),
  countEntitled: z.int(),
  countEntitledForProvisioning: z.int(),
  countEscrowed: z.int(),
  countEscrowedRaw: z.int(),
  countExported: z.int(),
  countExports: z.int(),
  countImported: z.int(),
  countImportedDeltas: z.int(),
  countImportedReferenceDeltas: z.int(),
  error: z.nullable(synchronizationErrorSchema),
  state: executionStateSchema,
  timeBegan: z.string(),
  timeEnded: z.string(),
});

export const progressSchema = z.object({
  completedUnits: z.int(),
  totalUnits: z.int(),
  units: z.string(),
  progressObservationDateTime: z.string(),
});

export const quarantineSchema = z.object({
  currentBegan: z.string(),
  nextAttempt: z.string(),
  reason: quarantineReasonSchema,
  seriesBegan: z.string(),
  seriesCount: z.int(),
  error: z.nullable(synchronizationErrorSchema),
});

export const keyLongValueSchema = z.object({ key: z.string(), value: z.int() });

export const synchronizationStatusSchema = z.object({
  code: statusCodeSchema,
  countSuccessiveCompleteFailures: z.int(),
  escrowsPruned: z.boolean(),
  synchronizedEntryCountByType: z.array(keyLongValueSchema),
  lastExecution: z.nullable(taskExecutionSchema),
  lastSuccessfulExecution: z.nullable(taskExecutionSchema),
  lastSuccessfulExecutionWithExports: z.nullable(taskExecutionSchema),
  progress: z.array(progressSchema),
  quarantine: z.nullable(quarantineSchema),
  steadyStateFirstAchievedTime: z.string(),
  steadyStateLastAchievedTime: z.string(),
  troubleshootingUrl: z.nullable(z.string()),
});

export const synchronizationScheduleSchema = z.object({
  expiration: z.nullable(z.string()),
  interval: z.string(),
  state: scheduleStateSchema,
});

export const keyValueSchema = z.object({ name: z.string(), value: z.string() });
export const metadataEntrySchema = z.object({ key: z.string(), value: z.string() });

/**
 * This service's addition to a job's status (Graph has no such property; SDKs keep unknown ones as additional data):
 * whether changes in the source reach the job through change notifications, or through the schedule alone.
 */
export const changeNotificationsStatusSchema = z.object({
  state: z.enum(['active', 'notConfigured', 'failed', 'pending']),
  message: z.nullable(z.string()),
});

export const synchronizationJobSchema = z.object({
  id: z.string(),
  templateId: z.string(),
  schedule: synchronizationScheduleSchema,
  status: z.extend(synchronizationStatusSchema, { changeNotifications: z.optional(changeNotificationsStatusSchema) }),
  synchronizationJobSettings: z.array(keyValueSchema),
  metadata: z.array(metadataEntrySchema),
});

export type ScheduleState = z.infer<typeof scheduleStateSchema>;
export type StatusCode = z.infer<typeof statusCodeSchema>;
export type SynchronizationError = z.infer<typeof synchronizationErrorSchema>;
export type TaskExecution = z.infer<typeof taskExecutionSchema>;
export type SynchronizationProgress = z.infer<typeof progressSchema>;
export type SynchronizationQuarantine = z.infer<typeof quarantineSchema>;
export type SynchronizationStatus = z.infer<typeof synchronizationStatusSchema>;
export type SynchronizationSchedule = z.infer<typeof synchronizationScheduleSchema>;
export type SynchronizationJob = z.infer<typeof synchronizationJobSchema>;
export type KeyValue = z.infer<typeof keyValueSchema>;
export type MetadataEntry = z.infer<typeof metadataEntrySchema>;
