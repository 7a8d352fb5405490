import { BadRequestError } from '../errors/service-errors.ts';
import { checkTargetAddress, normaliseSecrets, secretValue } from '../domain/secret-keys.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices } from '../config/services.ts';
import { putSecretsBodySchema } from '../schemas/requests.ts';

/** Write-only: stored encrypted, never returned, never logged. */
export const handler = graphHandler(
  { access: 'write', body: putSecretsBodySchema },
  async ({ principal, servicePrincipalId, body }) => {
    const services = getServices();
    const secrets = normaliseSecrets(body.value ?? body.credentials ?? []);
    if ('kind' in secrets) {
      throw new BadRequestError(
        secrets.kind === 'unknownKey'
          ? `Unknown secret key '${secrets.key.slice(0, 64)}'.`
          : `The secret key '${secrets.key}' is given more than once.`,
      );
    }
    for (const key of ['BaseAddress', 'SourceBaseAddress']) {
      const address = secretValue(secrets, key);
      const problem = address === undefined ? null : checkTargetAddress(address, services.mode);
      if (problem) throw new BadRequestError(`The secret ${key} ${problem}.`);
    }
    await services.secrets.put(principal.tenantId, servicePrincipalId, secrets);
    return { statusCode: 204 };
  },
);
