import type {
  CredentialsValidation,
  ProvisionOnDemandRequest,
  ProvisionOnDemandResult,
  ValidateCredentialsRequest,
} from '../schemas/sync-tick.ts';

/**
 * Requests the API hands to the sync worker and waits for: the worker alone may decrypt saved credentials, so
 * everything that talks to a job's target on demand runs there. Fails with WorkerBusyError when the worker is
 * throttled.
 */
export interface WorkerActions {
  validateCredentials(request: Omit<ValidateCredentialsRequest, 'action'>): Promise<CredentialsValidation>;
  provisionOnDemand(request: Omit<ProvisionOnDemandRequest, 'action'>): Promise<ProvisionOnDemandResult>;
}

/** The worker is at its concurrency limit (its reserved concurrency): the request was not run. */
export class WorkerBusyError extends Error {
  constructor() {
    super('The sync worker is at its concurrency limit');
    this.name = 'WorkerBusyError';
  }
}
