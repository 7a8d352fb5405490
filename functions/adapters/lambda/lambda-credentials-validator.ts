import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { CredentialsValidator } from '../../ports/credentials-validator.ts';
import { credentialsValidationSchema, type ValidateCredentialsRequest } from '../../schemas/sync-tick.ts';

/** A synchronous (RequestResponse) invoke of the sync worker, which holds the decrypt rights. */
export class LambdaCredentialsValidator implements CredentialsValidator {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionArn: string,
  ) {}

  async validate(request: Omit<ValidateCredentialsRequest, 'action'>) {
    const response = await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionArn,
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify({ action: 'validateCredentials', ...request }), 'utf8'),
      }),
    );
    const payload = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
    if (response.FunctionError) throw new Error(`The credentials check failed to run (${response.FunctionError})`);
    return credentialsValidationSchema.parse(JSON.parse(payload));
  }
}
