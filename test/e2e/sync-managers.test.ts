import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCIM_ENTERPRISE_USER_SCHEMA } from '../../functions/domain/mapping/scim-resource.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;
type Resource = Record<string, any>;

const account = (userPrincipalName: string) => (h.scim.resources('Users') as Resource[]).find((user) => user.userName === userPrincipalName);
const managerOf = (userPrincipalName: string) => account(userPrincipalName)?.[SCIM_ENTERPRISE_USER_SCHEMA]?.manager?.value as string | undefined;

async function newUser(nickname: string, extra: Record<string, unknown> = {}): Promise<{ id: string; userPrincipalName: string }> {
  return h.graph('POST', 'users', { userPrincipalName: `${nickname}@contoso.example`, displayName: nickname, mailNickname: nickname, accountEnabled: true, ...extra });
}
const setManager = (userId: string, managerId: string) =>
  h.graph('PUT', `users/${userId}/manager/$ref`, { '@odata.id': `${h.stack.directoryUrl}/users/${managerId}` });

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 0, seedGroups: 0 });
  jobId = await h.startedJob();
});
afterAll(async () => h?.close());

describe('manager', () => {
  it("is sent as the manager's own account id in the target", async () => {
    const boss = await newUser('boss');
    const report = await newUser('report');
    await setManager(report.id, boss.id);
    await h.runJob(jobId, 'schedule');
    expect(managerOf(report.userPrincipalName)).toBe(account(boss.userPrincipalName)!.id);
    expect(managerOf(boss.userPrincipalName)).toBeUndefined();
  });

  it('a manager the target cannot have yet is set once it is provisioned, in a later run, without a restart', async () => {
    const late = await newUser('late-boss');
    const report = await newUser('early-report');
    await setManager(report.id, late.id);
    // The manager's create is refused once: the report arrives first, without a manager.
    h.scim.failNext({
      status: 400,
      detail: 'refused for the test',
      match: (request) => request.method === 'POST' && (request.body as Resource | null)?.userName === late.userPrincipalName,
    });
    await h.runJob(jobId, 'schedule');
    expect(account(late.userPrincipalName)).toBeUndefined();
    expect(account(report.userPrincipalName)).toBeDefined();
    expect(managerOf(report.userPrincipalName)).toBeUndefined();
    await h.runJob(jobId, 'start');
    expect(account(late.userPrincipalName)).toBeDefined();
    expect(managerOf(report.userPrincipalName)).toBe(account(late.userPrincipalName)!.id);
  });

  it('changes with the directory, and is cleared when the manager is removed or deleted', async () => {
    const first = await newUser('first-boss');
    const second = await newUser('second-boss');
    const report = await newUser('moving-report');
    await setManager(report.id, first.id);
    await h.runJob(jobId, 'schedule');
    expect(managerOf(report.userPrincipalName)).toBe(account(first.userPrincipalName)!.id);

    await setManager(report.id, second.id);
    await h.runJob(jobId, 'schedule');
    expect(managerOf(report.userPrincipalName)).toBe(account(second.userPrincipalName)!.id);

    await h.graph('DELETE', `users/${report.id}/manager/$ref`);
    await h.runJob(jobId, 'schedule');
    expect(managerOf(report.userPrincipalName)).toBeUndefined();

    await setManager(report.id, first.id);
    await h.runJob(jobId, 'schedule');
    expect(managerOf(report.userPrincipalName)).toBe(account(first.userPrincipalName)!.id);
    await h.graph('DELETE', `users/${first.id}`);
    await h.graph('DELETE', `directory/deletedItems/${first.id}`);
    await h.runJob(jobId, 'schedule');
    expect(account(first.userPrincipalName)).toBeUndefined();
    expect(managerOf(report.userPrincipalName)).toBeUndefined();
    expect((await h.getJob(jobId)).status.lastExecution).toMatchObject({ state: 'Succeeded', countEscrowed: 0 });
  });
});
