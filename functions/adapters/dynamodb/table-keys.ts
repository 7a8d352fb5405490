/** Key layout of the single table (docs/table-design.md explains the access patterns). */
export const keys = {
  /** Items of the tenant as a whole (its job count). */
  tenant: (tenantId: string) => `T#${tenantId}`,
  /** The job count of a tenant or of a service principal, in its partition. */
  quota: 'QUOTA',
  servicePrincipal: (tenantId: string, servicePrincipalId: string) => `T#${tenantId}#SP#${servicePrincipalId}`,
  job: (jobId: string) => `JOB#${jobId}`,
  /** The items beside a job's own in its service principal's partition (its idle rounds). */
  jobSiblingPrefix: (jobId: string) => `JOB#${jobId}#`,
  /** A job's idle rounds, sorted right after the job item: one Query reads both. */
  idleRounds: (jobId: string) => `JOB#${jobId}#IDLE`,
  secrets: 'SECRETS',
  /** Every version of a job's customised schema starts with this sort key. */
  schemaPrefix: (jobId: string) => `SCHEMA#${jobId}#`,
  /** The record that a deleted job's state is still to be removed. */
  pendingPurge: (jobId: string) => `PURGE#${jobId}`,
  /** A tenant's source directory: its change subscriptions and the jobs they wake. */
  source: (tenantId: string, sourceKey: string) => `T#${tenantId}#SRC#${sourceKey}`,
  sourceSubscriptions: 'SUBSCRIPTIONS',
  /** The owner of a Graph subscription, found from the id a notification carries (before its tenant is known). */
  subscriptionOwner: (subscriptionId: string) => `SUB#${subscriptionId}`,
  jobObjects: (tenantId: string, jobId: string) => `T#${tenantId}#JOB#${jobId}`,
};

export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}
