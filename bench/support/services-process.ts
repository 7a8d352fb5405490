/**
 * What a deployed worker talks to over the network, alone in its own process: the local stack (dynalite, the
 * local directory, the local SCIM service, and the API and Scheduler emulator a job is created through) and a
 * second, empty SCIM service for the raw loader. Started by bench/support/remote-services.ts over IPC; the worker
 * runs in the parent, so its CPU and memory are measured apart from everything it calls.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { issueLocalToken } from '../../local/local-auth.ts';
import { localEnvSchema } from '../../local/local-config.ts';
import { startLambdaEndpoint } from '../../local/lambda-endpoint.ts';
import { startLocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { startLocalStack } from '../../local/stack.ts';
import { EPHEMERAL_PORTS } from '../../test/support/local-stack.ts';
import type { ServicesRequest, ServicesOptions, ServicesReply } from './remote-services.ts';

const options = JSON.parse(process.argv[2] ?? '{}') as ServicesOptions;
const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-services-'));
const scimToken = 'bench-scim-token';
const stack = await startLocalStack({
  ...localEnvSchema.parse({
    ...EPHEMERAL_PORTS,
    LOCAL_SEED_USERS: options.users,
    LOCAL_SEED_GROUPS: options.groups,
    LOCAL_SCIM_TOKEN: scimToken,
    ...(options.targetRate ? { LOCAL_SCIM_RATE_LIMIT: options.targetRate } : {}),
  }),
  dataDir,
  ...(options.groupSizes ? { seedGroupSizes: options.groupSizes } : {}),
  inMemoryDynamoDb: true,
  schedulerTimer: false,
  purgeSettleSeconds: 0,
});
// The API's start would run the worker here: the benchmark runs it itself, in the parent.
const dropInvocations = await startLambdaEndpoint({ host: '127.0.0.1', port: 0, functions: { 'sync-job': async () => undefined }, onError: () => undefined });
process.env.LAMBDA_ENDPOINT = dropInvocations.url;
const rawDir = await mkdtemp(path.join(tmpdir(), 'bench-raw-'));
const raw = await startLocalScimService({
  token: scimToken,
  dataFile: path.join(rawDir, 'scim.json'),
  ...(options.targetRate ? { rateLimit: { requestsPerSecond: options.targetRate } } : {}),
});

const env = Object.fromEntries(
  ['TABLE_NAME', 'SECRETS_KEY_ID', 'LOCAL_SECRETS_KEY', 'SCHEDULE_GROUP_NAME', 'SCHEDULER_ROLE_ARN', 'SYNC_FUNCTION_ARN', 'DYNAMODB_ENDPOINT', 'SCHEDULER_ENDPOINT', 'LOCAL_SOURCE_BASE_URL'].map(
    (name) => [name, process.env[name]!],
  ),
);

async function close(): Promise<void> {
  await raw.close();
  await dropInvocations.close();
  await stack.close();
  await rm(dataDir, { recursive: true, force: true });
  await rm(rawDir, { recursive: true, force: true });
}

// A benchmark that dies takes its services with it.
process.on('disconnect', () => {
  close().finally(() => process.exit());
});

process.on('message', (request: ServicesRequest) => {
  const answer = async (): Promise<ServicesReply> => {
    switch (request.kind) {
      case 'counts': {
        const groups = stack.scim.resources('Groups') as { members?: unknown[] }[];
        return {
          users: stack.scim.resources('Users').length,
          groups: groups.length,
          members: groups.reduce((sum, group) => sum + (group.members?.length ?? 0), 0),
          rawUsers: raw.resources('Users').length,
        };
      }
      case 'usage':
        return { cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000, rssMb: process.memoryUsage().rss / 2 ** 20 };
      case 'expireDeltaTokens':
        stack.directory.expireDeltaTokens();
        return {};
      case 'close':
        await close();
        return {};
    }
  };
  answer().then(
    (reply) => process.send!({ id: request.id, reply }),
    (error: unknown) => process.send!({ id: request.id, error: String(error) }),
  );
});

process.send!({
  ready: {
    apiUrl: stack.apiUrl,
    directoryUrl: stack.directoryUrl,
    scimUrl: stack.scimUrl,
    rawScimUrl: raw.url,
    scimToken,
    token: await issueLocalToken(dataDir),
    env,
  },
});
