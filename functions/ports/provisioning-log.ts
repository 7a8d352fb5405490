import type { ProvisioningObjectSummary } from '../schemas/provisioning-log.ts';

/** Record fields a query can ask to equal a value (Graph's `$filter` names in comments). */
export interface ProvisioningLogEquals {
  id?: string;
  jobId?: string;
  cycleId?: string;
  changeId?: string;
  provisioningAction?: string;
  /** `provisioningStatusInfo/status` */
  status?: string;
  /** `sourceIdentity/id` */
  sourceId?: string;
  /** `targetIdentity/id` */
  targetId?: string;
  /** `servicePrincipal/id` */
  servicePrincipalId?: string;
}

export interface ProvisioningLogQuery {
  tenantId: string;
  equals: ProvisioningLogEquals;
  /** `activityDateTime gt` (exclusive). */
  after?: string;
  /** `activityDateTime lt` (exclusive). */
  before?: string;
  /** Records per page, newest first. */
  top: number;
  /** Where the previous page stopped; null for the first page. */
  cursor: string | null;
  /** Records older than the retention are not returned, expired or not. */
  now: Date;
}

/**
 * The provisioning logs: one record per object change a run processed, kept for a retention period, listed newest
 * first per tenant.
 */
export interface ProvisioningLog {
  append(records: readonly ProvisioningObjectSummary[]): Promise<void>;
  /** @throws InvalidCursorError for a cursor this log did not give. */
  query(query: ProvisioningLogQuery): Promise<{ records: ProvisioningObjectSummary[]; cursor: string | null }>;
}
