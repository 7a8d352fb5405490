import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

// Read when the API's services are first built, so this file's stack runs with these quotas.
process.env.MAX_JOBS_PER_SERVICE_PRINCIPAL = '3';
process.env.MAX_JOBS_PER_TENANT = '5';

let t: TestStack;
beforeAll(async () => {
  t = await startTestStack();
});
afterAll(async () => {
  delete process.env.MAX_JOBS_PER_SERVICE_PRINCIPAL;
  delete process.env.MAX_JOBS_PER_TENANT;
  await t?.close();
});

const create = (sp: string) => t.api('POST', syncPath(sp, '/jobs'), { body: { templateId: 'scim' } });
const jobIds = async (sp: string): Promise<string[]> =>
  (await t.api('GET', syncPath(sp, '/jobs'))).json.value.map((job: { id: string }) => job.id);

describe('job quotas', () => {
  it('refuse a job over the per-service-principal limit with a 403 saying which, and create nothing', async () => {
    const created = await Promise.all([1, 2, 3, 4].map(() => create('quota-a')));
    expect(created.map((response) => response.status).sort()).toEqual([201, 201, 201, 403]);
    const refused = created.find((response) => response.status === 403)!;
    expect(refused.json.error).toMatchObject({ code: 'quotaLimitReached', message: expect.stringMatching(/service principal has 3 jobs.*MAX_JOBS_PER_SERVICE_PRINCIPAL/) });
    expect(await jobIds('quota-a')).toHaveLength(3);
  });

  it('count the tenant across its service principals', async () => {
    expect((await create('quota-b')).status).toBe(201);
    expect((await create('quota-b')).status).toBe(201);
    const refused = await create('quota-c');
    expect(refused.status).toBe(403);
    expect(refused.json.error.message).toMatch(/tenant has 5 jobs.*MAX_JOBS_PER_TENANT/);
    expect(await jobIds('quota-c')).toEqual([]);
    // Another tenant has its own count.
    const other = await t.issueToken({ tenantId: '0f0e0d0c-0b0a-4999-8888-777766665555' });
    expect((await t.api('POST', syncPath('quota-c', '/jobs'), { body: { templateId: 'scim' }, token: other })).status).toBe(201);
  });

  it('give the slot back when a job is deleted', async () => {
    const [first] = await jobIds('quota-a');
    expect((await t.api('DELETE', syncPath('quota-a', `/jobs/${first}`))).status).toBe(204);
    expect((await create('quota-c')).status).toBe(201);
    expect((await create('quota-c')).status).toBe(403);
  });
});
