import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { mappedSourceUsers, startSyncHarness, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

/** Drift made in the target behind the job's back, and the read-back that repairs it. */
let h: SyncHarness;
let jobId: string;

type Resource = Record<string, any>;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 14, seedGroups: 2 });
  jobId = await h.startedJob();
});
afterAll(async () => h?.close());

/** A request to the target as someone other than the job would send it. */
async function behindTheJob(method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${h.scim.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${h.scimToken}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status, `${method} ${path}`).toBeLessThan(300);
}
const patchOp = (Operations: unknown[]) => ({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations });

const accounts = () => h.scim.resources('Users') as Resource[];
const accountOf = (userName: string) => accounts().find((user) => user.userName === userName);
const groupOf = (displayName: string) => (h.scim.resources('Groups') as Resource[]).find((group) => group.displayName === displayName);

/** Every directory group's members as user names, and the target's, by group name. */
async function memberships(): Promise<{ directory: Record<string, string[]>; target: Record<string, string[]> }> {
  const userNames = new Map(accounts().map((user) => [user.id, user.userName]));
  const directory: Record<string, string[]> = {};
  const target: Record<string, string[]> = {};
  for (const group of await h.listAll('groups', 'id,displayName')) {
    directory[group.displayName] = (await h.listAll(`groups/${group.id}/members` as 'users', 'userPrincipalName')).map((user) => user.userPrincipalName).sort();
    target[group.displayName] = ((groupOf(group.displayName)?.members ?? []) as { value: string }[]).map((member) => userNames.get(member.value) as string).sort();
  }
  return { directory, target };
}

/** The target holds what the directory maps to: every user's account with its values, every group's members. */
async function expectTargetIsProjection(): Promise<void> {
  const mapped = await mappedSourceUsers(h);
  expect(accounts()).toHaveLength(mapped.size);
  for (const resource of mapped.values()) expect(accountOf(resource.userName as string)).toMatchObject(resource);
  const { directory, target } = await memberships();
  expect(target).toEqual(directory);
}

/**
 * Behind the job's back: a member's account deleted, another member taken out of its group, a user renamed, a
 * group deleted. Returns who was touched.
 */
async function drift() {
  const [first, second] = await h.listAll('groups', 'id,displayName');
  const members = await h.listAll(`groups/${first.id}/members` as 'users', 'userPrincipalName');
  expect(members.length).toBeGreaterThan(2);
  const [deleted, removed, renamed] = members.map((member) => accountOf(member.userPrincipalName)!);
  await behindTheJob('DELETE', `/Users/${deleted!.id}`);
  await behindTheJob('PATCH', `/Groups/${groupOf(first.displayName)!.id}`, patchOp([{ op: 'remove', path: `members[value eq "${removed!.id}"]` }]));
  await behindTheJob('PATCH', `/Users/${renamed!.id}`, patchOp([{ op: 'replace', path: 'displayName', value: 'Changed In The App' }]));
  await behindTheJob('DELETE', `/Groups/${groupOf(second.displayName)!.id}`);
  return { deleted: deleted!.userName as string, renamed: renamed!.userName as string, lostGroup: second.displayName as string };
}

const countsOf = (status: any) => Object.fromEntries((status.synchronizedEntryCountByType as { key: string; value: number }[]).map((entry) => [entry.key, entry.value]));

describe('reading the target back', () => {
  it('a schedule tick does not see drift in the target; a restart reads it back and repairs it all', async () => {
    await expectTargetIsProjection();
    const touched = await drift();
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(accountOf(touched.deleted)).toBeUndefined();
    expect(groupOf(touched.lostGroup)).toBeUndefined();

    h.scim.clearRequests();
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    expect(await h.drainTriggered()).toEqual(['steadyState']);
    await expectTargetIsProjection();
    // Nothing the job did not put there was removed: no DELETE at all.
    expect(h.scim.requests().filter((request) => request.method === 'DELETE')).toEqual([]);

    const status = (await h.getJob(jobId)).status;
    // The deleted account, the renamed one, the group that lost a member and the deleted group.
    expect(countsOf(status)).toMatchObject({ TargetObjectsVerified: 16, TargetObjectsRepaired: 4 });
    expect(countsOf(status).TargetMembershipsRestored).toBeGreaterThanOrEqual(1);
    expect(status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });

    const logs = await h.getV1(`/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${jobId}'`)}&$top=100`);
    const repairs = (logs.body.value as any[]).filter((record) => record.initiatedBy.displayName === 'Target read-back (reconcile)');
    const renamedRecord = repairs.find((record) => record.modifiedProperties.some((property: any) => property.oldValue === 'Changed In The App'));
    expect(renamedRecord).toMatchObject({ provisioningAction: 'update', provisioningStatusInfo: { status: 'success' } });
    expect(repairs.length).toBeGreaterThanOrEqual(4);

    // Read back once: the next tick is idle again.
    h.scim.clearRequests();
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(h.scim.requests()).toEqual([]);
  });

  it('ReconcileInterval: refused unless an ISO duration of at least PT1H; once due on the clock, a tick repairs drift', async () => {
    for (const value of ['PT30M', 'daily', '1']) {
      const refused = await h.api('PATCH', `/jobs/${jobId}`, { synchronizationJobSettings: [{ name: 'ReconcileInterval', value }] });
      expect(refused.status).toBe(400);
      expect(refused.body.error.code).toBeTruthy();
    }
    expect((await h.getJob(jobId)).synchronizationJobSettings.some((setting: any) => setting.name === 'ReconcileInterval')).toBe(false);
    await h.expectOk('PATCH', `/jobs/${jobId}`, { synchronizationJobSettings: [{ name: 'ReconcileInterval', value: 'P1D' }] });
    h.discardTriggered();

    const touched = await drift();
    let now = new Date();
    const run = wrappedSyncRun({ now: () => now }, (port) => port);
    const tick = { tenantId: LOCAL_TENANT_ID, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'schedule' as const };
    // Read back minutes ago: not due.
    expect(await run(tick, () => 600_000)).toBe('steadyState');
    expect(accountOf(touched.deleted)).toBeUndefined();

    now = new Date(Date.now() + 25 * 3600_000);
    expect(await run(tick, () => 600_000)).toBe('steadyState');
    await expectTargetIsProjection();
    expect(countsOf((await h.getJob(jobId)).status)).toMatchObject({ TargetObjectsRepaired: 4 });
  });

  it('a read-back stopped part-way (out of time, then a crash) carries on where it was, doubling nothing', async () => {
    const touched = await drift();
    await h.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Watermark' } });
    h.discardTriggered();
    const tick = { tenantId: LOCAL_TENANT_ID, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'continue' as const };

    // Time runs out a few account reads into the read-back.
    let reads = 0;
    let budget = 600_000;
    const countReads = <T extends object>(port: T): T =>
      'groupMembers' in port
        ? (new Proxy(port, {
            get(target, name, receiver) {
              const value = Reflect.get(target, name, receiver);
              if (name !== 'get' || typeof value !== 'function') return value;
              return (...args: unknown[]) => {
                if (++reads === 3) budget = 0;
                return value.apply(target, args);
              };
            },
          }) as T)
        : port;
    const clock = { now: () => new Date() };
    expect(await wrappedSyncRun(clock, countReads)(tick, () => budget)).toBe('outOfTime');
    const progress = (await h.getJob(jobId)).status.progress as any[];
    expect(progress.find((entry) => entry.units === 'targetObjectsVerified')).toMatchObject({ totalUnits: 16 });

    // Then a run dies at its first write to the target.
    let failed = false;
    const crashOnce = <T extends object>(port: T): T =>
      'groupMembers' in port
        ? (new Proxy(port, {
            get(target, name, receiver) {
              const value = Reflect.get(target, name, receiver);
              if (!['patch', 'create'].includes(String(name)) || typeof value !== 'function') return value;
              return (...args: unknown[]) => {
                if (!failed) {
                  failed = true;
                  throw new Error('the worker died');
                }
                return value.apply(target, args);
              };
            },
          }) as T)
        : port;
    await expect(wrappedSyncRun(clock, crashOnce)(tick, () => 600_000)).rejects.toThrow('the worker died');
    expect(failed).toBe(true);

    expect(await wrappedSyncRun(clock, (port) => port)(tick, () => 600_000)).toBe('steadyState');
    await expectTargetIsProjection();
    expect(accounts().filter((account) => account.userName === touched.deleted)).toHaveLength(1);
    expect(countsOf((await h.getJob(jobId)).status)).toMatchObject({ TargetObjectsVerified: 16 });
  });
});
