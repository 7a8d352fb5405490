import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DirectorySource } from '../../functions/ports/directory-source.ts';
import { ThrottledError } from '../../functions/ports/throttled-error.ts';
import { systemClock } from '../../functions/ports/clock.ts';
import { startLocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { startSyncHarness, wrappedSyncRun, workerContext, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;

type Resource = Record<string, any>;
const account = (userName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userName);

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 8, seedGroups: 2 });
  jobId = await h.createJob();
  await h.putSecrets(h.scim.url, h.scimToken);
  await h.expectOk('POST', `/jobs/${jobId}/start`);
  await h.drainTriggered();
});
afterAll(async () => h?.close());

describe('sync runs against an idle, refusing or failing target', () => {
  it('an idle run sends the target nothing and still records its execution', async () => {
    expect(h.scim.resources('Users')).toHaveLength(8);
    const before = (await h.getJob(jobId)).status.lastExecution;
    h.scim.clearRequests();

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');

    expect(h.scim.requests()).toEqual([]);
    const after = (await h.getJob(jobId)).status.lastExecution;
    expect(after.activityIdentifier).not.toBe(before.activityIdentifier);
    expect(after.timeEnded >= before.timeEnded).toBe(true);
    expect(after).toMatchObject({ state: 'Succeeded', countExported: 0, countImported: 0 });
  });

  it('a refused SecretToken quarantines the job; fixing it and starting converges', async () => {
    const [user] = await h.listAll('users', 'id,userPrincipalName');
    await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'Quarantine Survivor' });
    await h.putSecrets(h.scim.url, 'not-the-token');

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('quarantined');
    const quarantined = (await h.getJob(jobId)).status;
    expect(quarantined.code).toBe('Quarantine');
    expect(quarantined.quarantine.reason).toBe('EncounteredQuarantineException');
    expect(quarantined.quarantine.error.message).toMatch(/401/);
    expect(quarantined.lastExecution.state).toBe('Failed');
    expect(account(user.userPrincipalName)?.title).not.toBe('Quarantine Survivor');
    // Within the back-off, a schedule tick does not run the job.
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('quarantineBackoff');

    await h.putSecrets(h.scim.url, h.scimToken);
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    const status = (await h.getJob(jobId)).status;
    expect(status.code).toBe('Active');
    expect(status.quarantine).toBeNull();
    expect(account(user.userPrincipalName)?.title).toBe('Quarantine Survivor');
  });

  it('objects the target refuses are escrowed, reported with the reason, and retried later', async () => {
    const users = (await h.listAll('users', 'id,userPrincipalName')).slice(1, 3);
    for (const user of users) await h.graph('PATCH', `users/${user.id}`, { department: 'Escrowed' });
    h.scim.failNext({ status: 400, scimType: 'invalidValue', detail: 'department is locked', times: 4 });

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    const failed = (await h.getJob(jobId)).status.lastExecution;
    expect(failed).toMatchObject({ state: 'EntryLevelErrors', countEscrowed: 2, error: { code: 'EntryLevelErrors', tenantActionable: true } });
    expect(failed.error.message).toMatch(/2 objects were not provisioned.*department is locked/);
    for (const user of users) {
      expect(account(user.userPrincipalName)?.['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']?.department).not.toBe('Escrowed');
    }
    // The first retry comes with the next run (refused again here); the next one waits an interval, so a tick before
    // then sends nothing; a user's start retries at once.
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'EntryLevelErrors', countEscrowed: 2 });
    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(h.scim.requests()).toEqual([]);

    expect((await h.runJob(jobId, 'start')).outcome).toBe('steadyState');
    for (const user of users) {
      expect(account(user.userPrincipalName)?.['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']?.department).toBe('Escrowed');
    }
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0, countExported: 2 });
    // Nothing is left to retry.
    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(h.scim.requests()).toEqual([]);
  });

  it('a directory that stays throttled pauses the run without quarantine; the next run picks the change up', async () => {
    const [user] = await h.listAll('users', 'id,userPrincipalName');
    await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'After The Throttle' });
    const throttled = wrappedSyncRun(systemClock, (port) => {
      if (!('readPage' in port)) return port;
      const source: DirectorySource = Object.assign(Object.create(port) as DirectorySource, {
        readPage: async () => {
          throw new ThrottledError('GET /users/delta answered 429 (after 5 attempts)', 'source', new Date(Date.now() - 1));
        },
      });
      return source as unknown as typeof port;
    });
    const tick = { tenantId: h.tenantId, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'schedule' as const };

    expect(await throttled(tick, () => workerContext().getRemainingTimeInMillis())).toBe('throttled');
    const failed = (await h.getJob(jobId)).status;
    expect(failed.code).toBe('Active');
    expect(failed.quarantine).toBeNull();
    expect(failed.countSuccessiveCompleteFailures).toBe(1);
    expect(failed.lastExecution).toMatchObject({ state: 'Failed', error: { code: 'SourceThrottled', tenantActionable: false } });

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(account(user.userPrincipalName)?.title).toBe('After The Throttle');
    expect((await h.getJob(jobId)).status.countSuccessiveCompleteFailures).toBe(0);
  });

  it('an account deleted in the target behind the job is provisioned again on its next change, once', async () => {
    const [, , , user] = await h.listAll('users', 'id,userPrincipalName');
    const before = account(user.userPrincipalName)!;
    const deleted = await fetch(`${h.scim.url}/Users/${before.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${h.scimToken}` } });
    expect(deleted.status).toBe(204);
    await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'Back Again' });

    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');

    const again = (h.scim.resources('Users') as Resource[]).filter((candidate) => candidate.userName === user.userPrincipalName);
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(before.id);
    expect(again[0]!.title).toBe('Back Again');
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
    // The link now points at the new account: a further change is a PATCH of it.
    await h.graph('PATCH', `users/${user.id}`, { jobTitle: 'Still Here' });
    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(h.scim.requests().map((request) => `${request.method} ${request.path}`)).toEqual([`PATCH /Users/${again[0]!.id}`]);
  });

  it('a job pointed at another target provisions everything there instead of patching ids of the old one', async () => {
    const other = await startLocalScimService({ host: '127.0.0.1', port: 0, token: 'other-token', recordRequests: true });
    try {
      await h.putSecrets(other.url, 'other-token');
      expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');

      const sourceUsers = await h.listAll('users', 'userPrincipalName,accountEnabled');
      const enabled = sourceUsers.filter((user) => user.accountEnabled !== false).map((user) => user.userPrincipalName).sort();
      expect((other.resources('Users') as Resource[]).map((user) => user.userName).sort()).toEqual(enabled);
      expect(other.resources('Groups')).toHaveLength(2);
      // Accounts are created whole there; the only PATCHes are the managers' second pass, on accounts of the new target.
      const ids = new Set((other.resources('Users') as Resource[]).map((user) => `/Users/${user.id}`));
      for (const request of other.requests().filter((candidate) => candidate.method === 'PATCH' && candidate.path.startsWith('/Users/'))) {
        expect(ids.has(request.path)).toBe(true);
        expect((request.body as Resource).Operations.map((operation: Resource) => operation.path)).toEqual([expect.stringMatching(/:User:manager\.value$/)]);
      }
      const status = (await h.getJob(jobId)).status;
      expect(status.synchronizedEntryCountByType).toEqual([{ key: 'User', value: enabled.length }, { key: 'Group', value: 2 }]);
    } finally {
      await h.putSecrets(h.scim.url, h.scimToken);
      await other.close();
    }
  });
});
