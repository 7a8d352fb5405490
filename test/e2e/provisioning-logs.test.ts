import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLocalToken } from '../../local/local-auth.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

let h: SyncHarness;
let jobId: string;

type Summary = Record<string, any>;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 12, seedGroups: 3 });
  jobId = await h.startedJob();
});
afterAll(async () => h?.close());

const logs = (query: string) => h.getV1(`/auditLogs/provisioning?${query}`);

/** Every record the filter selects, following @odata.nextLink. */
async function allRecords(filter: string, top = 100): Promise<Summary[]> {
  const records: Summary[] = [];
  let next: string | undefined = `${h.stack.apiUrl}/auditLogs/provisioning?$filter=${encodeURIComponent(filter)}&$top=${top}`;
  while (next) {
    const { status, body } = await h.getV1(next.slice(h.stack.apiUrl.length));
    expect(status).toBe(200);
    records.push(...body.value);
    next = body['@odata.nextLink'];
  }
  return records;
}

const forJob = `jobId eq '${'%JOB%'}'`;
const jobFilter = (more = '') => `${forJob.replace('%JOB%', jobId)}${more}`;

describe('provisioning logs', () => {
  it('record every object the first cycle created, in Graph shape, newest first, paged by nextLink', async () => {
    const records = await allRecords(jobFilter(), 4);
    const users = await h.listAll('users', 'id,userPrincipalName');
    const groups = await h.listAll('groups', 'id');
    expect(records).toHaveLength(users.length + groups.length);
    expect(new Set(records.map((record) => record.changeId)).size).toBe(records.length);
    const times = records.map((record) => record.activityDateTime);
    expect([...times].sort().reverse()).toEqual(times);
    const [user] = users;
    const created = records.find((record) => record.sourceIdentity.id === user.id);
    expect(created).toMatchObject({
      tenantId: h.tenantId,
      jobId,
      cycleId: expect.any(String),
      provisioningAction: 'create',
      durationInMilliseconds: expect.any(Number),
      initiatedBy: { initiatorType: 'user' },
      servicePrincipal: { id: h.servicePrincipalId },
      sourceIdentity: { id: user.id, identityType: 'User' },
      targetIdentity: { id: expect.stringMatching(/.+/), identityType: 'User' },
      provisioningStatusInfo: { status: 'success', errorInformation: null },
    });
    expect(created!.modifiedProperties).toContainEqual({ displayName: 'userName', oldValue: null, newValue: user.userPrincipalName });
    expect(created!.provisioningSteps.map((step: Summary) => step.provisioningStepType)).toEqual(['import', 'scoping', 'export']);
    const group = records.find((record) => record.sourceIdentity.identityType === 'Group' && record.modifiedProperties.some((property: Summary) => property.displayName === 'members'));
    expect(group).toBeDefined();
  });

  it('record an update with its old and new values, a disable, and a skip with its reason; an idle tick records nothing', async () => {
    const [first, second] = await h.listAll('users', 'id,userPrincipalName,jobTitle');
    await h.graph('PATCH', `users/${first.id}`, { jobTitle: 'Site Reliability Engineer' });
    await h.graph('PATCH', `users/${second.id}`, { accountEnabled: false });
    const dormant = await h.graph('POST', 'users', { userPrincipalName: 'dormant@contoso.example', displayName: 'Dormant', mailNickname: 'dormant', accountEnabled: false });
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');

    const [updated] = await allRecords(jobFilter(` and sourceIdentity/id eq '${first.id}' and provisioningAction eq 'update'`));
    expect(updated).toMatchObject({ initiatedBy: { initiatorType: 'system', displayName: 'Schedule' }, provisioningStatusInfo: { status: 'success' } });
    expect(updated!.modifiedProperties).toEqual([{ displayName: 'title', oldValue: first.jobTitle, newValue: 'Site Reliability Engineer' }]);
    const [disabled] = await allRecords(jobFilter(` and sourceIdentity/id eq '${second.id}'`), 1);
    expect(disabled).toMatchObject({ provisioningAction: 'disable', modifiedProperties: [{ displayName: 'active', oldValue: 'True', newValue: 'False' }] });
    const [skipped] = await allRecords(jobFilter(` and sourceIdentity/id eq '${dormant.id}'`));
    expect(skipped).toMatchObject({ provisioningAction: 'other', provisioningStatusInfo: { status: 'skipped' } });
    expect(skipped!.provisioningSteps[1]).toMatchObject({ provisioningStepType: 'scoping', status: 'skipped', details: { SkipReason: 'disabledNotProvisioned' } });

    const before = (await allRecords(jobFilter())).length;
    expect((await h.runJob(jobId, 'schedule')).outcome).toBe('steadyState');
    expect(await allRecords(jobFilter())).toHaveLength(before);
  });

  it('record a refusal with the request and the answer, the token taken out, and name it in the job status', async () => {
    const [user] = await h.listAll('users', 'id,userPrincipalName');
    await h.graph('PATCH', `users/${user.id}`, { department: 'Refused Department' });
    h.scim.failNext({ status: 400, times: 1, scimType: 'invalidValue', detail: `department is not allowed (token ${h.scimToken})`, match: (request) => request.method === 'PATCH' });
    await h.runJob(jobId, 'schedule');

    const failures = await allRecords(jobFilter(" and provisioningStatusInfo/status eq 'failure'"));
    expect(failures).toHaveLength(1);
    const [failure] = failures;
    expect(failure).toMatchObject({
      provisioningAction: 'update',
      sourceIdentity: { id: user.id },
      provisioningStatusInfo: { status: 'failure', errorInformation: { errorCode: 'UnprocessableEntity', reason: expect.stringContaining('answered 400') } },
    });
    const exported = failure!.provisioningSteps.at(-1);
    expect(exported).toMatchObject({ provisioningStepType: 'export', status: 'failure', details: { Request: expect.stringMatching(/^PATCH \/Users\//), ResponseStatus: '400' } });
    expect(exported.details.RequestBody).toContain('Refused Department');
    expect(exported.details.ResponseBody).toContain('department is not allowed');
    expect(JSON.stringify(failure)).not.toContain(h.scimToken);
    expect(JSON.stringify((await h.getJob(jobId)).status)).toContain(failure!.changeId);
  });

  it('answer filters on time and cycle, and only within the tenant', async () => {
    const all = await allRecords(jobFilter());
    const newest = all[0]!;
    const older = await allRecords(jobFilter(` and activityDateTime lt ${newest.activityDateTime}`));
    expect(older.every((record) => record.activityDateTime < newest.activityDateTime)).toBe(true);
    expect(older.length).toBeLessThan(all.length);
    const cycle = await allRecords(`cycleId eq '${newest.cycleId}'`);
    expect(cycle.length).toBeGreaterThan(0);
    expect(cycle.every((record) => record.cycleId === newest.cycleId)).toBe(true);
    expect(await allRecords(`changeId eq '${newest.changeId}'`)).toEqual([newest]);

    const stranger = await issueLocalToken(h.dataDir, { tenantId: '0f0e0d0c-0b0a-4999-8888-777766665555' });
    const response = await fetch(`${h.stack.apiUrl}/auditLogs/provisioning?$filter=${encodeURIComponent(jobFilter())}`, { headers: { authorization: `Bearer ${stranger}` } });
    expect(response.status).toBe(200);
    expect((await response.json()).value).toEqual([]);
  });

  it.each([
    ["$filter=userPrincipalName eq 'x'", /userPrincipalName/],
    ["$filter=contains(jobId,'x')", /could not be read/],
    ["$filter=jobId ne 'x'", /eq only/],
    ["$filter=jobId eq 'x' or cycleId eq 'y'", /joined by 'and'/],
    ['$filter=activityDateTime gt yesterday', /could not be read|date/],
    ['$top=0', /\$top/],
    ['$top=1001', /\$top/],
    ['$orderby=jobId', /\$orderby/],
    ['$skiptoken=not-a-token', /\$skiptoken/],
  ])('refuse %s with a Graph 400 saying why, never a full list', async (query, reason) => {
    const { status, body } = await logs(query);
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: expect.any(String), message: expect.stringMatching(reason) });
  });

  it('list the whole tenant without a filter', async () => {
    const { status, body } = await logs('$top=3');
    expect(status).toBe(200);
    expect(body.value).toHaveLength(3);
    expect(body['@odata.nextLink']).toContain('$skiptoken=');
  });

  it('need a token', async () => {
    const response = await fetch(`${h.stack.apiUrl}/auditLogs/provisioning`);
    expect(response.status).toBe(401);
  });
});
