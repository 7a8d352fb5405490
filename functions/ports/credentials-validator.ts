import type { CredentialsValidation, ValidateCredentialsRequest } from '../schemas/sync-tick.ts';

/**
 * Tests a job's target credentials with a harmless query. Runs where the saved secrets may be decrypted (the sync
 * worker), so no API function ever holds the key.
 */
export interface CredentialsValidator {
  validate(request: Omit<ValidateCredentialsRequest, 'action'>): Promise<CredentialsValidation>;
}
