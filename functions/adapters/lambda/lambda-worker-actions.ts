import { InvokeCommand, TooManyRequestsException, type LambdaClient } from '@aws-sdk/client-lambda';
import type * as z from 'zod/mini';
import { WorkerBusyError, type WorkerActions } from '../../ports/worker-actions.ts';
import {
  credentialsValidationSchema,
  provisionOnDemandResultSchema,
  type ProvisionOnDemandRequest,
  type ValidateCredentialsRequest,
} from '../../schemas/sync-tick.ts';

/** Synchronous (RequestResponse) invokes of the sync worker. */
export class LambdaWorkerActions implements WorkerActions {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionArn: string,
  ) {}

  validateCredentials(request: Omit<ValidateCredentialsRequest, 'action'>) {
    return this.invoke({ action: 'validateCredentials', ...request }, credentialsValidationSchema);
  }

  provisionOnDemand(request: Omit<ProvisionOnDemandRequest, 'action'>) {
    return this.invoke({ action: 'provisionOnDemand', ...request }, provisionOnDemandResultSchema);
  }

  private async invoke<T extends z.ZodMiniType>(payload: object, resultSchema: T): Promise<z.infer<T>> {
    const response = await this.client
      .send(
        new InvokeCommand({
          FunctionName: this.functionArn,
          InvocationType: 'RequestResponse',
          Payload: Buffer.from(JSON.stringify(payload), 'utf8'),
        }),
      )
      .catch((error: unknown) => {
        // The worker's reserved concurrency is taken by runs: the caller is told to retry, not that we failed.
        throw error instanceof TooManyRequestsException ? new WorkerBusyError() : error;
      });
    if (response.FunctionError) throw new Error(`The worker failed to run the request (${response.FunctionError})`);
    const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
    return resultSchema.parse(JSON.parse(text));
  }
}
