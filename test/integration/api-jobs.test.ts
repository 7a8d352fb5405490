import { GetScheduleCommand, ResourceNotFoundException } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleNameFor } from '../../functions/domain/ids.ts';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'a1b2c3d4-0000-4000-8000-00000000aaaa';
const JOB_ID_SHAPE = new RegExp(`^scim\\.[0-9a-f]{32}\\.${LOCAL_TENANT_ID}$`);

// The file creates more jobs under one service principal than the default quota allows (the quota has its own test).
process.env.MAX_JOBS_PER_SERVICE_PRINCIPAL = '100';

let t: TestStack;

beforeAll(async () => {
  t = await startTestStack();
});

afterAll(async () => {
  await t?.close();
});

async function createJob(servicePrincipalId = SP, body: unknown = { templateId: 'scim' }): Promise<string> {
  const response = await t.api('POST', syncPath(servicePrincipalId, '/jobs'), { body });
  expect(response.status).toBe(201);
  return response.json.id as string;
}

async function putTargetSecrets(servicePrincipalId = SP): Promise<void> {
  const response = await t.api('PUT', syncPath(servicePrincipalId, '/secrets'), {
    body: {
      value: [
        { key: 'BaseAddress', value: t.stack.scimUrl },
        { key: 'SecretToken', value: t.stack.scimToken },
      ],
    },
  });
  expect(response.status).toBe(204);
}

async function getJob(jobId: string, servicePrincipalId = SP) {
  const response = await t.api('GET', syncPath(servicePrincipalId, `/jobs/${jobId}`));
  expect(response.status).toBe(200);
  return response.json;
}

async function scheduleOf(jobId: string) {
  return t.scheduler.send(
    new GetScheduleCommand({ Name: scheduleNameFor(LOCAL_TENANT_ID, jobId), GroupName: t.stack.scheduleGroup }),
  );
}

describe('job API routes through HTTP', () => {
  it('creates a job with 201, Location and the exact new-job JSON', async () => {
    const response = await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } });
    expect(response.status).toBe(201);
    const job = response.json;
    expect(job.id).toMatch(JOB_ID_SHAPE);
    expect(response.headers.get('location')).toBe(`${t.stack.apiUrl}${syncPath(SP, `/jobs/${job.id}`)}`);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(job).toEqual({
      id: job.id,
      templateId: 'scim',
      schedule: { expiration: null, interval: 'PT5M', state: 'Disabled' },
      status: {
        code: 'NotConfigured',
        countSuccessiveCompleteFailures: 0,
        escrowsPruned: false,
        synchronizedEntryCountByType: [],
        lastExecution: null,
        lastSuccessfulExecution: null,
        lastSuccessfulExecutionWithExports: null,
        progress: [],
        quarantine: null,
        steadyStateFirstAchievedTime: '0001-01-01T00:00:00Z',
        steadyStateLastAchievedTime: '0001-01-01T00:00:00Z',
        troubleshootingUrl: null,
        // This service's own: not yet known until the job's first run looks at the source.
        changeNotifications: { state: 'pending', message: null },
      },
      synchronizationJobSettings: expect.any(Array),
      metadata: expect.any(Array),
    });
    // A job that never started has no schedule.
    await expect(scheduleOf(job.id)).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(await getJob(job.id)).toEqual(job);
  });

  it('creates a job with the given interval', async () => {
    const response = await t.api('POST', syncPath(SP, '/jobs'), {
      body: { templateId: 'scim', schedule: { interval: 'PT1H30M' } },
    });
    expect(response.status).toBe(201);
    expect(response.json.schedule).toEqual({ expiration: null, interval: 'PT1H30M', state: 'Disabled' });
  });

  it('lists jobs in pages with $top, @odata.nextLink and $skiptoken', async () => {
    const sp = 'paging-app';
    const created = new Set<string>();
    for (let i = 0; i < 5; i += 1) created.add(await createJob(sp));
    const seen: string[] = [];
    let next: string | undefined = `${t.stack.apiUrl}${syncPath(sp, '/jobs')}?$top=2`;
    let pages = 0;
    while (next) {
      const url = new URL(next);
      expect(url.origin + url.pathname).toBe(`${t.stack.apiUrl}${syncPath(sp, '/jobs')}`);
      const response = await t.api('GET', `${url.pathname.replace('/v1.0', '')}${url.search}`);
      expect(response.status).toBe(200);
      expect(response.json['@odata.context']).toContain(`servicePrincipals('${sp}')/synchronization/jobs`);
      expect(response.json.value.length).toBeLessThanOrEqual(2);
      seen.push(...response.json.value.map((job: { id: string }) => job.id));
      next = response.json['@odata.nextLink'];
      if (next) expect(new URL(next).searchParams.get('$skiptoken')).toBeTruthy();
      pages += 1;
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(seen)).toEqual(created);
    expect(seen).toHaveLength(5);

    const all = await t.api('GET', syncPath(sp, '/jobs'));
    expect(all.json.value).toHaveLength(5);
    expect(all.json['@odata.nextLink']).toBeUndefined();
  });

  it('lists nothing for a service principal without jobs', async () => {
    const response = await t.api('GET', syncPath('empty-app', '/jobs'));
    expect(response.status).toBe(200);
    expect(response.json.value).toEqual([]);
  });

  it('gets a job with $expand=schema and the schema route', async () => {
    const jobId = await createJob();
    const schema = await t.api('GET', syncPath(SP, `/jobs/${jobId}/schema`));
    expect(schema.status).toBe(200);
    expect(schema.json).toEqual(expect.objectContaining({ directories: expect.any(Array), synchronizationRules: expect.any(Array) }));
    const expanded = await t.api('GET', syncPath(SP, `/jobs/${jobId}?$expand=schema`));
    expect(expanded.status).toBe(200);
    expect(expanded.json.id).toBe(jobId);
    expect(expanded.json.schema).toEqual(schema.json);
    const plain = await getJob(jobId);
    expect(plain.schema).toBeUndefined();
  });

  it('changes the interval with PATCH (204), shown by GET and, once started, by the schedule', async () => {
    const jobId = await createJob();
    const patched = await t.api('PATCH', syncPath(SP, `/jobs/${jobId}`), { body: { schedule: { interval: 'PT40M' } } });
    expect(patched.status).toBe(204);
    expect(patched.text).toBe('');
    expect((await getJob(jobId)).schedule).toEqual({ expiration: null, interval: 'PT40M', state: 'Disabled' });
    await expect(scheduleOf(jobId)).rejects.toBeInstanceOf(ResourceNotFoundException);

    await putTargetSecrets();
    expect((await t.api('POST', syncPath(SP, `/jobs/${jobId}/start`))).status).toBe(204);
    expect((await scheduleOf(jobId)).ScheduleExpression).toBe('rate(40 minutes)');
    expect((await t.api('PATCH', syncPath(SP, `/jobs/${jobId}`), { body: { schedule: { interval: 'PT2H' } } })).status).toBe(204);
    const schedule = await scheduleOf(jobId);
    expect(schedule.ScheduleExpression).toBe('rate(120 minutes)');
    expect(schedule.State).toBe('ENABLED');
    expect((await getJob(jobId)).schedule.interval).toBe('PT2H');
  });

  it('changes job settings with PATCH, merged by name, and refuses an empty or unknown-field change', async () => {
    const jobId = await createJob();
    const before = (await getJob(jobId)).synchronizationJobSettings as { name: string; value: string }[];
    const patched = await t.api('PATCH', syncPath(SP, `/jobs/${jobId}`), {
      body: { synchronizationJobSettings: [{ name: 'FlattenNestedGroups', value: 'True' }, { name: 'quarantineTooManyDeletesThreshold', value: '50' }] },
    });
    expect(patched.status).toBe(204);
    const after = (await getJob(jobId)).synchronizationJobSettings as { name: string; value: string }[];
    expect(after).toEqual([
      ...before.map((setting) => (setting.name === 'QuarantineTooManyDeletesThreshold' ? { ...setting, value: '50' } : setting)),
      { name: 'FlattenNestedGroups', value: 'True' },
    ]);
    for (const body of [{}, { synchronizationJobSettings: [] }, { synchronizationJobSettings: [{ name: 'x', value: 'y', extra: 1 }] }]) {
      const refused = await t.api('PATCH', syncPath(SP, `/jobs/${jobId}`), { body });
      expect(refused.status).toBe(400);
      expect(refused.json.error.code).toBe('invalidRequest');
    }
    expect((await getJob(jobId)).synchronizationJobSettings).toEqual(after);
  });

  it('sets MaxRequestsPerSecond with PATCH, and refuses a value that is not a positive number with 400', async () => {
    const jobId = await createJob();
    const set = await t.api('PATCH', syncPath(SP, `/jobs/${jobId}`), { body: { synchronizationJobSettings: [{ name: 'MaxRequestsPerSecond', value: '0.27' }] } });
    expect(set.status).toBe(204);
    const after = (await getJob(jobId)).synchronizationJobSettings;
    expect(after).toContainEqual({ name: 'MaxRequestsPerSecond', value: '0.27' });
    const refused = await t.api('PATCH', syncPath(SP, `/jobs/${jobId}`), { body: { synchronizationJobSettings: [{ name: 'MaxRequestsPerSecond', value: '0' }] } });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe('invalidRequest');
    expect(refused.json.error.message).toContain('MaxRequestsPerSecond must be a positive number of requests per second');
    expect((await getJob(jobId)).synchronizationJobSettings).toEqual(after);
  });

  it('refuses to start without target secrets, naming BaseAddress and SecretToken, and changes nothing', async () => {
    const sp = 'no-secrets-app';
    const jobId = await createJob(sp);
    const before = await getJob(jobId, sp);
    const response = await t.api('POST', syncPath(sp, `/jobs/${jobId}/start`));
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalidRequest');
    expect(response.json.error.message).toContain('BaseAddress');
    expect(response.json.error.message).toContain('SecretToken');
    expect(await getJob(jobId, sp)).toEqual(before);
    await expect(scheduleOf(jobId)).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('starts, pauses and starts again, keeping job and schedule in step', async () => {
    const jobId = await createJob(SP, { templateId: 'scim', schedule: { interval: 'PT10M' } });
    await putTargetSecrets();

    const started = await t.api('POST', syncPath(SP, `/jobs/${jobId}/start`), { body: {} });
    expect(started.status).toBe(204);
    const running = await getJob(jobId);
    expect(running.schedule.state).toBe('Active');
    expect(['NotRun', 'Active']).toContain(running.status.code);
    let schedule = await scheduleOf(jobId);
    expect(schedule.State).toBe('ENABLED');
    expect(schedule.ScheduleExpression).toBe('rate(10 minutes)');
    expect(schedule.GroupName).toBe(t.stack.scheduleGroup);

    expect((await t.api('POST', syncPath(SP, `/jobs/${jobId}/pause`))).status).toBe(204);
    const paused = await getJob(jobId);
    expect(paused.schedule.state).toBe('Paused');
    expect(paused.status.code).toBe('Paused');
    schedule = await scheduleOf(jobId);
    expect(schedule.State).toBe('DISABLED');

    expect((await t.api('POST', syncPath(SP, `/jobs/${jobId}/start`))).status).toBe(204);
    expect((await getJob(jobId)).schedule.state).toBe('Active');
    expect((await scheduleOf(jobId)).State).toBe('ENABLED');
  });

  it.each([
    ['no body', undefined],
    ['empty criteria', { criteria: {} }],
    ['null resetScope', { criteria: { resetScope: null } }],
    ...['None', 'ConnectorDataStore', 'Escrows', 'Watermark', 'QuarantineState', 'Full', 'ForceDeletes'].map(
      (flag) => [flag, { criteria: { resetScope: flag } }] as [string, unknown],
    ),
    ['several flags', { criteria: { resetScope: 'Watermark, Escrows,QuarantineState' } }],
    ['lower-case flag', { criteria: { resetScope: 'watermark' } }],
  ])('restarts with %s (204) and activates the job', async (_name, body) => {
    const jobId = await createJob();
    await putTargetSecrets();
    const response = await t.api('POST', syncPath(SP, `/jobs/${jobId}/restart`), { body });
    expect(response.status).toBe(204);
    expect((await getJob(jobId)).schedule.state).toBe('Active');
    expect((await scheduleOf(jobId)).State).toBe('ENABLED');
  });

  it('refuses a restart with an unknown resetScope flag and changes nothing', async () => {
    const jobId = await createJob();
    await putTargetSecrets();
    const before = await getJob(jobId);
    const response = await t.api('POST', syncPath(SP, `/jobs/${jobId}/restart`), {
      body: { criteria: { resetScope: 'Watermark,Everything' } },
    });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe('invalidRequest');
    expect(response.json.error.message).toContain('resetScope');
    expect(await getJob(jobId)).toEqual(before);
  });

  it('deletes a job (204), after which it and its schedule are gone (404)', async () => {
    const jobId = await createJob();
    await putTargetSecrets();
    expect((await t.api('POST', syncPath(SP, `/jobs/${jobId}/start`))).status).toBe(204);
    expect((await scheduleOf(jobId)).State).toBe('ENABLED');

    expect((await t.api('DELETE', syncPath(SP, `/jobs/${jobId}`))).status).toBe(204);
    const gone = await t.api('GET', syncPath(SP, `/jobs/${jobId}`));
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('Request_ResourceNotFound');
    await expect(scheduleOf(jobId)).rejects.toBeInstanceOf(ResourceNotFoundException);
    const again = await t.api('DELETE', syncPath(SP, `/jobs/${jobId}`));
    expect(again.status).toBe(404);
    const list = await t.api('GET', syncPath(SP, '/jobs'));
    expect(list.json.value.map((job: { id: string }) => job.id)).not.toContain(jobId);
  });

  it('lists templates and gets one; an unknown one is 404', async () => {
    const list = await t.api('GET', syncPath(SP, '/templates'));
    expect(list.status).toBe(200);
    expect(list.json.value.map((template: { id: string }) => template.id)).toContain('scim');
    const one = await t.api('GET', syncPath(SP, '/templates/scim'));
    expect(one.status).toBe(200);
    expect(one.json.id).toBe('scim');
    const unknown = await t.api('GET', syncPath(SP, '/templates/nope'));
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('Request_ResourceNotFound');
  });

  it('accepts secrets as `value` and as `credentials` (204) and never returns them', async () => {
    const sp = 'secret-app';
    const secret = 'very-secret-token-5f1c';
    const asValue = await t.api('PUT', syncPath(sp, '/secrets'), {
      body: { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: secret }] },
    });
    expect(asValue.status).toBe(204);
    expect(asValue.text).toBe('');
    const asCredentials = await t.api('PUT', syncPath(sp, '/secrets'), {
      body: { credentials: [{ key: 'baseaddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: secret }] },
    });
    expect(asCredentials.status).toBe(204);

    const jobId = await createJob(sp);
    expect((await t.api('POST', syncPath(sp, `/jobs/${jobId}/start`))).status).toBe(204);
    const answers = await Promise.all(
      [
        syncPath(sp, '/jobs'),
        syncPath(sp, `/jobs/${jobId}`),
        syncPath(sp, `/jobs/${jobId}?$expand=schema`),
        syncPath(sp, `/jobs/${jobId}/schema`),
        syncPath(sp, '/templates'),
        syncPath(sp, '/templates/scim'),
      ].map((apiPath) => t.api('GET', apiPath)),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(secret);
    }
    const readBack = await t.api('GET', syncPath(sp, '/secrets'));
    expect(readBack.status).toBe(405);
    expect(readBack.text).not.toContain(secret);
  });
});
