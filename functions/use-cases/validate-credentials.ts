import { randomUUID } from 'node:crypto';
import { checkTargetAddress, normaliseSecrets, secretValue } from '../domain/secret-keys.ts';
import { confidentialValues } from '../domain/secret-redaction.ts';
import type { JobStore } from '../ports/job-store.ts';
import { ScimRequestError, TargetUnavailableError, type ScimTarget } from '../ports/scim-target.ts';
import type { SecretsVault } from '../ports/secrets-vault.ts';
import { ThrottledError } from '../ports/throttled-error.ts';
import type { CredentialsValidation, ValidateCredentialsRequest } from '../schemas/sync-tick.ts';

export interface ValidateCredentialsDeps {
  jobs: JobStore;
  secrets: SecretsVault;
  mode: 'local' | 'deployed';
  targetFor(baseAddress: string, token: string, settings: { confidential: string[] }): ScimTarget & { close(): Promise<void> };
}

/**
 * Entra's "Test connection": a filter query for a user that cannot exist must answer with an empty list. Proves
 * the address, the token and that the target speaks SCIM, and changes nothing.
 */
export function makeValidateCredentials(deps: ValidateCredentialsDeps) {
  return async function validate(request: Omit<ValidateCredentialsRequest, 'action'>): Promise<CredentialsValidation> {
    const job = await deps.jobs.get(request);
    if (!job) return { valid: false, reason: 'jobNotFound', message: `Job ${request.jobId} does not exist.` };
    const given = request.credentials ? normaliseSecrets(request.credentials) : null;
    if (given && 'kind' in given) return { valid: false, reason: 'invalid', message: `Unknown or repeated secret key '${given.key}'.` };
    const pairs = given ?? (await deps.secrets.read(request.tenantId, request.servicePrincipalId));
    const baseAddress = secretValue(pairs, 'BaseAddress');
    const token = secretValue(pairs, 'SecretToken');
    if (!baseAddress || !token) return { valid: false, reason: 'invalid', message: 'BaseAddress and SecretToken are both needed.' };
    const problem = checkTargetAddress(baseAddress, deps.mode);
    if (problem) return { valid: false, reason: 'invalid', message: `BaseAddress ${problem}.` };
    const target = deps.targetFor(baseAddress, token, { confidential: confidentialValues(pairs) });
    try {
      await target.findBy('Users', 'userName', `${randomUUID()}@validation.invalid`);
      return { valid: true };
    } catch (error) {
      // A throttled or briefly failing target proves nothing either way: the check fails with the target's answer.
      if (error instanceof TargetUnavailableError || error instanceof ScimRequestError || error instanceof ThrottledError) {
        return { valid: false, reason: 'invalid', message: error.message };
      }
      throw error;
    } finally {
      await target.close();
    }
  };
}
