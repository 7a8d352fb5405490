import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { SyncTrigger } from '../../ports/sync-trigger.ts';
import type { SyncTick } from '../../schemas/sync-tick.ts';

/** Asynchronous (Event) invoke of the sync worker: the API answers at once and the run goes on by itself. */
export class LambdaSyncTrigger implements SyncTrigger {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionArn: string,
  ) {}

  async trigger(tick: SyncTick): Promise<void> {
    await this.client.send(
      new InvokeCommand({
        FunctionName: this.functionArn,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(tick), 'utf8'),
      }),
    );
  }
}
