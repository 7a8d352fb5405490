import { parseDeployedEnv } from '../../functions/config/env.ts';

/** A deployed function's environment for tests that build its services without calling AWS, with `overrides`. */
export function deployedEnvForTests(overrides: Record<string, string> = {}) {
  return parseDeployedEnv({
    TABLE_NAME: 't',
    SECRETS_KEY_ID: 'k',
    SCHEDULE_GROUP_NAME: 'g',
    SCHEDULER_ROLE_ARN: 'arn:aws:iam::111111111111:role/r',
    SYNC_FUNCTION_ARN: 'arn:aws:lambda:us-east-1:111111111111:function:f',
    ...overrides,
  });
}
