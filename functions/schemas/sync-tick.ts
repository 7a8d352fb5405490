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
