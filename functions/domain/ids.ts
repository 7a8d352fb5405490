import { createHash } from 'node:crypto';

/** Safe servicePrincipalId: a GUID or another id of letters, digits, `.`, `_`, `-` (at most 64). */
export const SERVICE_PRINCIPAL_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** `<templateId>.<32 hex>.<tenant id>`, the shape Graph gives job ids. */
export const JOB_ID = /^[A-Za-z0-9_-]{1,64}\.[0-9a-f]{32}\.[A-Za-z0-9-]{1,64}$/;

export function newJobId(templateId: string, tenantId: string, randomHex32: string): string {
  return `${templateId}.${randomHex32}.${tenantId}`;
}

/**
 * Scheduler names are at most 64 characters of `[0-9a-zA-Z-_.]`, and job ids can be longer, so the name is a
 * hash of tenant and job: deterministic, so every retry addresses the same schedule.
 */
export function scheduleNameFor(tenantId: string, jobId: string): string {
  return `job-${createHash('sha256').update(`${tenantId}/${jobId}`).digest('hex').slice(0, 40)}`;
}

/** The schedule that drives a deleted job's purge, named after the job's own schedule (both ≤ 64 characters). */
export function purgeScheduleNameFor(jobScheduleName: string): string {
  return `purge-${jobScheduleName.replace(/^job-/, '')}`.slice(0, 64);
}
