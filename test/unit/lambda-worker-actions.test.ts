import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { LambdaWorkerActions } from '../../functions/adapters/lambda/lambda-worker-actions.ts';
import { WorkerBusyError } from '../../functions/ports/worker-actions.ts';

const lambda = mockClient(LambdaClient);
const request = { tenantId: 't', servicePrincipalId: 'sp', jobId: 'j' } as Parameters<LambdaWorkerActions['validateCredentials']>[0];

describe('LambdaWorkerActions', () => {
  beforeEach(() => lambda.reset());

  it('tells a throttled worker (its reserved concurrency taken) apart from a failure', async () => {
    lambda.on(InvokeCommand).rejects(new TooManyRequestsException({ message: 'Rate Exceeded.', $metadata: {} }));
    const actions = new LambdaWorkerActions(new LambdaClient({}), 'arn:aws:lambda:us-east-1:111111111111:function:w');
    await expect(actions.validateCredentials(request)).rejects.toBeInstanceOf(WorkerBusyError);
  });

  it('passes any other failure on as it is', async () => {
    lambda.on(InvokeCommand).rejects(new Error('socket hang up'));
    const actions = new LambdaWorkerActions(new LambdaClient({}), 'arn:aws:lambda:us-east-1:111111111111:function:w');
    await expect(actions.validateCredentials(request)).rejects.toThrow('socket hang up');
  });
});
