import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbNotificationStore } from '../adapters/dynamodb/dynamodb-notification-store.ts';
import { LambdaSyncTrigger } from '../adapters/lambda/lambda-sync-trigger.ts';
import { makeReceiveNotifications } from '../use-cases/change-notifications.ts';
import { parseDeployedEnv } from './env.ts';

/**
 * The webhook's own composition root: a table reader and the worker's trigger only (no KMS, no Scheduler), so its
 * bundle and its cold start stay small, as Graph wants an answer within 3 seconds.
 */
function build() {
  const env = parseDeployedEnv();
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: env.DYNAMODB_ENDPOINT }));
  return {
    receive: makeReceiveNotifications({
      store: new DynamoDbNotificationStore(dynamo, env.TABLE_NAME),
      trigger: new LambdaSyncTrigger(new LambdaClient({ endpoint: env.LAMBDA_ENDPOINT }), env.SYNC_FUNCTION_ARN),
    }),
  };
}

let services: ReturnType<typeof build> | undefined;

export function getNotificationServices(): ReturnType<typeof build> {
  services ??= build();
  return services;
}
