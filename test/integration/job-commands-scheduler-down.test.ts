import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobStatePurge } from '../../functions/adapters/dynamodb/dynamodb-job-state-purge.ts';
import { DynamoDbJobQuota } from '../../functions/adapters/dynamodb/dynamodb-job-quota.ts';
import { DynamoDbJobStore } from '../../functions/adapters/dynamodb/dynamodb-job-store.ts';
import { graphHandler, type ApiEvent } from '../../functions/http/graph-handler.ts';
import { systemClock } from '../../functions/ports/clock.ts';
import { SchedulesUnavailableError, type JobScheduleSpec, type JobSchedules } from '../../functions/ports/job-schedules.ts';
import type { PurgeSchedules } from '../../functions/ports/purge-schedules.ts';
import type { SecretsVault } from '../../functions/ports/secrets-vault.ts';
import { makeJobCommands } from '../../functions/use-cases/job-commands.ts';
import { startLocalDynamoDb } from '../../local/local-dynamodb.ts';
import { startTestIdentityProvider } from '../support/access-tokens.ts';

const TENANT = '00000000-0000-4000-8000-000000000001';

/** A Scheduler that is throttling: every call fails the way the adapter reports it. */
class DownScheduler implements JobSchedules, PurgeSchedules {
  calls = 0;
  down = true;
  readonly specs: JobScheduleSpec[] = [];
  private fail(): void {
    this.calls += 1;
    if (this.down) throw new SchedulesUnavailableError('Scheduler is throttling', 7);
  }
  async put(spec: JobScheduleSpec) {
    this.fail();
    this.specs.push(spec);
  }
  async ensurePurge() {
    this.fail();
  }
  async remove() {
    this.fail();
  }
  async get(name: string) {
    this.fail();
    const spec = this.specs.filter((candidate) => candidate.name === name).at(-1);
    return spec ? { name, rateMinutes: spec.rateMinutes, enabled: spec.enabled } : null;
  }
}

const secrets: SecretsVault = {
  put: async () => undefined,
  keys: async () => ['BaseAddress', 'SecretToken'],
  read: async () => [],
  remove: async () => undefined,
};

let dynamo: Awaited<ReturnType<typeof startLocalDynamoDb>>;
let jobs: DynamoDbJobStore;
let purges: DynamoDbJobStatePurge;
let quota: DynamoDbJobQuota;

beforeAll(async () => {
  dynamo = await startLocalDynamoDb({ host: '127.0.0.1', port: 0, tableName: 'jobs-test' });
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint }));
  jobs = new DynamoDbJobStore(client, 'jobs-test');
  purges = new DynamoDbJobStatePurge(client, 'jobs-test');
  quota = new DynamoDbJobQuota(client, 'jobs-test');
});
afterAll(async () => dynamo?.close());

function commands(schedules: DownScheduler) {
  return makeJobCommands({
    jobs,
    schedules,
    secrets,
    trigger: { trigger: async () => undefined },
    purges,
    purgeSchedules: schedules,
    schemas: { get: async () => null, put: async () => undefined, removeOthers: async () => undefined },
    quota,
    limits: { perServicePrincipal: 100, perTenant: 1000 },
    clock: systemClock,
  });
}

describe('job commands while EventBridge Scheduler is unavailable', () => {
  it.each(['start', 'pause', 'delete', 'interval'] as const)('%s fails with nothing changed, and works once Scheduler is back', async (command) => {
    const scheduler = new DownScheduler();
    const jobCommands = commands(scheduler);
    const created = await jobCommands.create(TENANT, 'sp-down', { templateId: 'scim' });
    const key = { tenantId: TENANT, servicePrincipalId: 'sp-down', jobId: created.id };
    const run = () => {
      switch (command) {
        case 'start':
          return jobCommands.start(key);
        case 'pause':
          return jobCommands.pause(key);
        case 'delete':
          return jobCommands.delete(key);
        case 'interval':
          return jobCommands.update(key, { interval: 'PT15M' });
      }
    };
    // A job that never ran has no schedule to change on interval updates: make it active first.
    if (command === 'interval') {
      scheduler.down = false;
      await jobCommands.start(key);
      scheduler.down = true;
    }
    const before = await jobs.get(key);

    await expect(run()).rejects.toBeInstanceOf(SchedulesUnavailableError);
    expect(await jobs.get(key)).toEqual(before);
    expect(await purges.pending(key)).toBeNull();

    scheduler.down = false;
    await run();
    const after = await jobs.get(key);
    if (command === 'delete') {
      expect(after).toBeNull();
      // Its state is left to the worker's purge, recorded before the job went.
      expect(await purges.pending(key)).toMatchObject({ key });
    }
    else expect(after?.version).toBeGreaterThan(before!.version);
  });

  it('answers 503 with Retry-After and a Graph error body', async () => {
    const handler = graphHandler({ access: 'write' }, async () => {
      throw new SchedulesUnavailableError('Scheduler is throttling', 7);
    });
    const idp = await startTestIdentityProvider();
    const event = {
      headers: { 'client-request-id': 'abc-123', authorization: await idp.bearer(TENANT) },
      requestContext: { requestId: 'r1' },
      pathParameters: { servicePrincipalId: 'sp-down' },
    } as unknown as ApiEvent;
    const response = await handler(event, {} as never).finally(() => idp.close());
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('7');
    expect(JSON.parse(response.body!)).toMatchObject({
      error: { code: 'serviceNotAvailable', innerError: { 'request-id': 'r1', 'client-request-id': 'abc-123' } },
    });
  });
});
