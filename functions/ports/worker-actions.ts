import type {
  CredentialsValidation,
  ProvisionOnDemandRequest,
  ProvisionOnDemandResult,
  ValidateCredentialsRequest,
} from '../schemas/sync-tick.ts';

/**
 * Requests the API hands to the sync worker and waits for: the worker alone may decrypt saved credentials, so
 * everything that talks to a job's target on demand runs there.
 */
export interface WorkerActions {
  validateCredentials(request: Omit<ValidateCredentialsRequest, 'action'>): Promise<CredentialsValidation>;
  provisionOnDemand(request: Omit<ProvisionOnDemandRequest, 'action'>): Promise<ProvisionOnDemandResult>;
}
