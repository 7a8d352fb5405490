import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobRunStore } from '../../functions/adapters/dynamodb/dynamodb-job-run-store.ts';
import { DynamoDbJobStore } from '../../functions/adapters/dynamodb/dynamodb-job-store.ts';
import { createJob } from '../../functions/domain/job-lifecycle.ts';
import { findTemplate } from '../../functions/domain/templates.ts';
import type { JobKey, StoredJob } from '../../functions/schemas/stored-job.ts';
import { releaseAbandonedLeases } from '../../local/abandoned-leases.ts';
import { startLocalDynamoDb } from '../../local/local-dynamodb.ts';

const TABLE = 'abandoned-leases-test';
const TENANT = '00000000-0000-4000-8000-0000000000b1';
const NOW = '2026-03-01T10:00:00.000Z';
/** A lease as a live run holds it: minutes ahead of NOW. */
const LEASE_UNTIL = '2026-03-01T10:03:30.000Z';

let dynamo: Awaited<ReturnType<typeof startLocalDynamoDb>>;
let client: DynamoDBDocumentClient;
let jobs: DynamoDbJobStore;
let runs: DynamoDbJobRunStore;

beforeAll(async () => {
  dynamo = await startLocalDynamoDb({ host: '127.0.0.1', port: 0, tableName: TABLE });
  client = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: dynamo.endpoint }), { marshallOptions: { removeUndefinedValues: true } });
  jobs = new DynamoDbJobStore(client, TABLE);
  runs = new DynamoDbJobRunStore(client, TABLE);
});
afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
});

async function storedJob(servicePrincipalId: string, hex: string): Promise<StoredJob> {
  const job = createJob({ tenantId: TENANT, servicePrincipalId, template: findTemplate('scim')!, intervalMinutes: 5, randomHex32: hex.repeat(32), now: NOW });
  await jobs.create(job);
  return job;
}

const keyOf = (job: StoredJob): JobKey => ({ tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id });

describe('releaseAbandonedLeases (the local stack at start)', () => {
  it("frees the leases of runs that died with the previous process, and only those jobs' leases", async () => {
    const idle = await storedJob('sp-idle', 'a');
    const leased = [await storedJob('sp-one', 'b'), await storedJob('sp-two', 'c')];
    const holders = await Promise.all(leased.map((job, index) => runs.acquireLease(job, `dead-run-${index}`, LEASE_UNTIL, NOW)));
    expect(holders.map((job) => job?.run.leaseOwner)).toEqual(['dead-run-0', 'dead-run-1']);

    expect(await releaseAbandonedLeases({ endpoint: dynamo.endpoint, tableName: TABLE })).toBe(2);

    for (const [index, job] of leased.entries()) {
      const after = (await jobs.get(keyOf(job), { consistent: true }))!;
      expect(after.run).toMatchObject({ leaseOwner: null, leaseUntil: null });
      // A new run takes the job at once, long before the dead run's lease would have run out...
      expect(await runs.acquireLease(after, `new-run-${index}`, LEASE_UNTIL, NOW)).not.toBeNull();
      // ...and a commit of the dead run, were it somehow alive, is refused.
      expect(await runs.commit(keyOf(job), `dead-run-${index}`, after.run.epoch, { run: {}, release: true })).toBeNull();
    }
    expect(await jobs.get(keyOf(idle), { consistent: true })).toEqual(idle);
    // Freeing is conditional on the owner found: a lease that changed hands meanwhile is kept.
    expect(await runs.releaseLease(keyOf(leased[0]!), 'dead-run-0')).toBeNull();
    expect((await jobs.get(keyOf(leased[0]!), { consistent: true }))!.run.leaseOwner).toBe('new-run-0');
  });
});
