import { BadRequestError } from '../errors/service-errors.ts';
import { JobNotFoundError } from '../domain/job-errors.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices, jobExists } from '../config/services.ts';
import { validateCredentialsBodySchema } from '../schemas/requests.ts';

/** Tests the target credentials (the saved ones, or those given) with a query that changes nothing. */
export const handler = graphHandler(
  { access: 'write', jobExists, body: validateCredentialsBodySchema },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    const credentials = body.useSavedCredentials ? null : (body.credentials?.map(({ key, value }) => ({ key, value })) ?? null);
    if (!body.useSavedCredentials && !credentials?.length) {
      throw new BadRequestError('Give the credentials to test, or set useSavedCredentials to true.');
    }
    const result = await getServices().worker.validateCredentials({ tenantId: principal.tenantId, servicePrincipalId, jobId, credentials });
    if (result.valid) return { statusCode: 204 };
    if (result.reason === 'jobNotFound') throw new JobNotFoundError(jobId);
    throw new BadRequestError(`The credentials could not be validated: ${result.message}`, 'CredentialValidationFailed');
  },
);
