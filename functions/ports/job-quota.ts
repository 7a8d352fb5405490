/** How many jobs one service principal and one tenant may have. */
export interface JobLimits {
  perServicePrincipal: number;
  perTenant: number;
}

/** Where a job quota was reached. */
export type QuotaScope = 'servicePrincipal' | 'tenant';

/** Raised by {@link JobQuota.reserve} when a job more would go over a limit; nothing was reserved. */
export class JobQuotaExceededError extends Error {
  constructor(
    readonly scope: QuotaScope,
    readonly limit: number,
  ) {
    super(`The ${scope === 'tenant' ? 'tenant' : 'service principal'} has ${limit} jobs, the most allowed`);
    this.name = 'JobQuotaExceededError';
  }
}

/**
 * Counts of jobs per service principal and per tenant, kept so that one tenant cannot create jobs without bound and
 * starve the shared worker. A slot is reserved before a job is created and released when the job is deleted (or
 * its creation failed). Each count is changed atomically, so concurrent creations never go over a limit.
 */
export interface JobQuota {
  reserve(tenantId: string, servicePrincipalId: string, limits: JobLimits): Promise<void>;
  release(tenantId: string, servicePrincipalId: string): Promise<void>;
}
