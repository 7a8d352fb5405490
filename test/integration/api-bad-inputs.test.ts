import { ListSchedulesCommand } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type ApiResponse, type TestStack } from '../support/local-stack.ts';

const SP = 'bad-input-app';
const UNKNOWN_JOB = `scim.${'0'.repeat(32)}.${LOCAL_TENANT_ID}`;
const JOB = '{job}';

interface BadInput {
  name: string;
  method: string;
  /** Relative to /v1.0; `{job}` is replaced by the fixture job's id. */
  path: string;
  body?: unknown;
  status: number;
  code: string;
  allow?: string;
  message?: RegExp;
}

const jobs = syncPath(SP, '/jobs');
const job = syncPath(SP, `/jobs/${JOB}`);
const secrets = syncPath(SP, '/secrets');
const pair = (key: string, value: string) => ({ key, value });

const cases: BadInput[] = [
  // Malformed percent escapes in the path (a client's mistake, never a 5xx)
  { name: 'get with a malformed escape in the job id', method: 'GET', path: syncPath(SP, '/jobs/scim.%zz'), status: 400, code: 'invalidRequest', message: /percent escape/ },
  { name: 'start with a truncated escape in the service principal', method: 'POST', path: '/servicePrincipals/sp%E0%A4/synchronization/jobs/x/start', status: 400, code: 'invalidRequest', message: /percent escape/ },
  // Malformed and missing bodies
  { name: 'create with malformed JSON', method: 'POST', path: jobs, body: '{"templateId":', status: 400, code: 'invalidRequest', message: /JSON/ },
  { name: 'patch with malformed JSON', method: 'PATCH', path: job, body: '{schedule:', status: 400, code: 'invalidRequest', message: /JSON/ },
  { name: 'restart with malformed JSON', method: 'POST', path: `${job}/restart`, body: '{', status: 400, code: 'invalidRequest' },
  { name: 'secrets with malformed JSON', method: 'PUT', path: secrets, body: '[', status: 400, code: 'invalidRequest' },
  { name: 'create without a body', method: 'POST', path: jobs, status: 400, code: 'invalidRequest' },
  { name: 'create with a JSON array', method: 'POST', path: jobs, body: '[]', status: 400, code: 'invalidRequest' },
  { name: 'create with JSON null', method: 'POST', path: jobs, body: 'null', status: 400, code: 'invalidRequest' },
  // Wrong types
  { name: 'templateId as a number', method: 'POST', path: jobs, body: { templateId: 5 }, status: 400, code: 'invalidRequest', message: /templateId/ },
  { name: 'interval as a number', method: 'PATCH', path: job, body: { schedule: { interval: 5 } }, status: 400, code: 'invalidRequest', message: /interval/ },
  { name: 'schedule as a string', method: 'PATCH', path: job, body: { schedule: 'PT5M' }, status: 400, code: 'invalidRequest' },
  { name: 'resetScope as a number', method: 'POST', path: `${job}/restart`, body: { criteria: { resetScope: 3 } }, status: 400, code: 'invalidRequest' },
  { name: 'secrets value as a string', method: 'PUT', path: secrets, body: { value: 'BaseAddress' }, status: 400, code: 'invalidRequest' },
  { name: 'secret value as a number', method: 'PUT', path: secrets, body: { value: [{ key: 'SecretToken', value: 1 }] }, status: 400, code: 'invalidRequest' },
  // Unknown fields
  { name: 'create with an unknown field', method: 'POST', path: jobs, body: { templateId: 'scim', state: 'Active' }, status: 400, code: 'invalidRequest' },
  { name: 'patch with an unknown field', method: 'PATCH', path: job, body: { schedule: { interval: 'PT5M' }, templateId: 'x' }, status: 400, code: 'invalidRequest' },
  { name: 'patch schedule state', method: 'PATCH', path: job, body: { schedule: { interval: 'PT5M', state: 'Active' } }, status: 400, code: 'invalidRequest' },
  { name: 'start with an unknown field', method: 'POST', path: `${job}/start`, body: { force: true }, status: 400, code: 'invalidRequest' },
  { name: 'pause with an unknown field', method: 'POST', path: `${job}/pause`, body: { now: true }, status: 400, code: 'invalidRequest' },
  { name: 'restart with an unknown field', method: 'POST', path: `${job}/restart`, body: { criteria: { resetScope: 'Full', hard: true } }, status: 400, code: 'invalidRequest' },
  { name: 'secret pair with an unknown field', method: 'PUT', path: secrets, body: { value: [{ key: 'SecretToken', value: 'x', type: 1 }] }, status: 400, code: 'invalidRequest' },
  { name: 'secrets as both value and credentials', method: 'PUT', path: secrets, body: { value: [], credentials: [] }, status: 400, code: 'invalidRequest' },
  { name: 'secrets as neither value nor credentials', method: 'PUT', path: secrets, body: {}, status: 400, code: 'invalidRequest' },
  // Domain values
  { name: 'unknown templateId', method: 'POST', path: jobs, body: { templateId: 'salesforce' }, status: 400, code: 'invalidRequest', message: /templateId/ },
  ...['PT30S', 'PT0M', 'P1M', '5', '', 'PT', 'P400D'].flatMap((interval): BadInput[] => [
    { name: `create with interval '${interval}'`, method: 'POST', path: jobs, body: { templateId: 'scim', schedule: { interval } }, status: 400, code: 'invalidRequest', message: /interval/ },
    { name: `patch with interval '${interval}'`, method: 'PATCH', path: job, body: { schedule: { interval } }, status: 400, code: 'invalidRequest', message: /interval/ },
  ]),
  { name: 'unknown resetScope flag', method: 'POST', path: `${job}/restart`, body: { criteria: { resetScope: 'Everything' } }, status: 400, code: 'invalidRequest', message: /resetScope/ },
  { name: 'unknown secret key', method: 'PUT', path: secrets, body: { value: [pair('ApiKey', 'x')] }, status: 400, code: 'invalidRequest', message: /ApiKey/ },
  { name: 'repeated secret key', method: 'PUT', path: secrets, body: { value: [pair('SecretToken', 'a'), pair('secrettoken', 'b')] }, status: 400, code: 'invalidRequest' },
  { name: 'http BaseAddress to a public host', method: 'PUT', path: secrets, body: { value: [pair('BaseAddress', 'http://scim.example.com/scim'), pair('SecretToken', 't')] }, status: 400, code: 'invalidRequest', message: /BaseAddress/ },
  { name: 'http BaseAddress to a private host', method: 'PUT', path: secrets, body: { value: [pair('BaseAddress', 'http://10.0.0.5/scim')] }, status: 400, code: 'invalidRequest', message: /BaseAddress/ },
  { name: 'BaseAddress that is no URL', method: 'PUT', path: secrets, body: { value: [pair('BaseAddress', 'scim.example.com')] }, status: 400, code: 'invalidRequest', message: /BaseAddress/ },
  { name: 'BaseAddress with credentials', method: 'PUT', path: secrets, body: { value: [pair('BaseAddress', 'https://u:p@scim.example.com/')] }, status: 400, code: 'invalidRequest', message: /BaseAddress/ },
  { name: 'file SourceBaseAddress', method: 'PUT', path: secrets, body: { value: [pair('SourceBaseAddress', 'file:///etc/passwd')] }, status: 400, code: 'invalidRequest', message: /SourceBaseAddress/ },
  // Query options
  { name: '$top=0', method: 'GET', path: `${jobs}?$top=0`, status: 400, code: 'invalidRequest', message: /\$top/ },
  { name: '$top=abc', method: 'GET', path: `${jobs}?$top=abc`, status: 400, code: 'invalidRequest', message: /\$top/ },
  { name: '$top=1000', method: 'GET', path: `${jobs}?$top=1000`, status: 400, code: 'invalidRequest', message: /\$top/ },
  { name: 'garbage $skiptoken', method: 'GET', path: `${jobs}?$skiptoken=%%%garbage`, status: 400, code: 'invalidRequest' },
  { name: 'a $skiptoken this service did not issue', method: 'GET', path: `${jobs}?$skiptoken=aGVsbG8`, status: 400, code: 'invalidRequest' },
  { name: '$expand of something else', method: 'GET', path: `${job}?$expand=status`, status: 400, code: 'invalidRequest', message: /\$expand/ },
  // Ids
  { name: 'servicePrincipalId with a space', method: 'GET', path: syncPath('bad%20id', '/jobs'), status: 400, code: 'invalidRequest', message: /servicePrincipalId/ },
  { name: 'servicePrincipalId too long', method: 'POST', path: syncPath('a'.repeat(65), '/jobs'), body: { templateId: 'scim' }, status: 400, code: 'invalidRequest', message: /servicePrincipalId/ },
  { name: 'servicePrincipalId with a quote', method: 'PUT', path: syncPath("o'brien", '/secrets'), body: { value: [pair('SecretToken', 'x')] }, status: 400, code: 'invalidRequest' },
  { name: 'jobId of another shape (GET)', method: 'GET', path: syncPath(SP, '/jobs/not-a-job'), status: 400, code: 'invalidRequest', message: /job id/ },
  { name: 'jobId of another shape (PATCH)', method: 'PATCH', path: syncPath(SP, '/jobs/scim.123.tenant'), body: { schedule: { interval: 'PT5M' } }, status: 400, code: 'invalidRequest' },
  { name: 'jobId of another shape (DELETE)', method: 'DELETE', path: syncPath(SP, '/jobs/scim.XYZ'), status: 400, code: 'invalidRequest' },
  { name: 'jobId with upper-case hex (start)', method: 'POST', path: syncPath(SP, `/jobs/scim.${'A'.repeat(32)}.t/start`), status: 400, code: 'invalidRequest' },
  // Unknown jobs
  { name: 'unknown job (GET)', method: 'GET', path: syncPath(SP, `/jobs/${UNKNOWN_JOB}`), status: 404, code: 'Request_ResourceNotFound' },
  { name: 'unknown job (schema)', method: 'GET', path: syncPath(SP, `/jobs/${UNKNOWN_JOB}/schema`), status: 404, code: 'Request_ResourceNotFound' },
  { name: 'unknown job (PATCH)', method: 'PATCH', path: syncPath(SP, `/jobs/${UNKNOWN_JOB}`), body: { schedule: { interval: 'PT5M' } }, status: 404, code: 'Request_ResourceNotFound' },
  { name: 'unknown job (DELETE)', method: 'DELETE', path: syncPath(SP, `/jobs/${UNKNOWN_JOB}`), status: 404, code: 'Request_ResourceNotFound' },
  { name: 'unknown job (pause)', method: 'POST', path: syncPath(SP, `/jobs/${UNKNOWN_JOB}/pause`), status: 404, code: 'Request_ResourceNotFound' },
  { name: 'job of another service principal', method: 'GET', path: syncPath('other-app', `/jobs/${JOB}`), status: 404, code: 'Request_ResourceNotFound' },
  // Routing
  { name: 'PUT on the job list', method: 'PUT', path: jobs, body: { templateId: 'scim' }, status: 405, code: 'notAllowed', allow: 'GET, POST' },
  { name: 'POST on a job', method: 'POST', path: job, body: {}, status: 405, code: 'notAllowed', allow: 'GET, PATCH, DELETE' },
  { name: 'GET on start', method: 'GET', path: `${job}/start`, status: 405, code: 'notAllowed', allow: 'POST' },
  { name: 'DELETE on templates', method: 'DELETE', path: syncPath(SP, '/templates'), status: 405, code: 'notAllowed', allow: 'GET' },
  { name: 'GET on secrets', method: 'GET', path: secrets, status: 405, code: 'notAllowed', allow: 'PUT' },
  { name: 'unknown synchronization segment', method: 'GET', path: syncPath(SP, '/nothing'), status: 404, code: 'Request_ResourceNotFound' },
  { name: 'unknown job action', method: 'POST', path: `${job}/frobnicate`, body: {}, status: 404, code: 'Request_ResourceNotFound' },
  { name: 'unknown top-level path', method: 'GET', path: '/users', status: 404, code: 'Request_ResourceNotFound' },
  // Size
  { name: 'oversized create body', method: 'POST', path: jobs, body: JSON.stringify({ templateId: 'scim', pad: 'x'.repeat(100_000) }), status: 413, code: 'requestEntityTooLarge' },
  { name: 'oversized secrets body', method: 'PUT', path: secrets, body: JSON.stringify({ value: [pair('SecretToken', 'x'.repeat(70_000))] }), status: 413, code: 'requestEntityTooLarge' },
];

let t: TestStack;
let fixtureJob: string;

/** Everything a bad request could have touched: the jobs, the fixture job, the schedules, the secrets. */
async function observableState() {
  const list = await t.api('GET', jobs);
  const other = await t.api('GET', syncPath('other-app', '/jobs'));
  const fixture = await t.api('GET', syncPath(SP, `/jobs/${fixtureJob}`));
  const schedules = await t.scheduler.send(new ListSchedulesCommand({ GroupName: t.stack.scheduleGroup }));
  // Start answers 400 naming the missing secrets (and writes nothing) while no secret was stored.
  const start = await t.api('POST', syncPath(SP, `/jobs/${fixtureJob}/start`));
  return {
    list: list.json,
    other: other.json,
    fixture: fixture.json,
    schedules: (schedules.Schedules ?? []).map((schedule) => `${schedule.Name}:${schedule.State}`).sort(),
    start: [start.status, start.json?.error?.message],
  };
}

function expectGraphError(response: ApiResponse, clientRequestId: string, code: string): void {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.json).toEqual({
    error: {
      code,
      message: expect.any(String),
      innerError: {
        date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
        'request-id': expect.stringMatching(/^[\w-]+$/),
        'client-request-id': clientRequestId,
      },
    },
  });
  expect(response.json.error.message.length).toBeGreaterThan(0);
  expect(response.headers.get('request-id')).toBe(response.json.error.innerError['request-id']);
  expect(response.headers.get('client-request-id')).toBe(clientRequestId);
}

beforeAll(async () => {
  t = await startTestStack();
  const created = await t.api('POST', jobs, { body: { templateId: 'scim' } });
  expect(created.status).toBe(201);
  fixtureJob = created.json.id;
});

afterAll(async () => {
  await t?.close();
});

describe('bad inputs answer a Graph error and write nothing', () => {
  it.each(cases)('$name → $status $code', async (bad) => {
    const before = await observableState();
    const clientRequestId = `bad-${Math.random().toString(36).slice(2)}`;
    const response = await t.api(bad.method, bad.path.replace(JOB, fixtureJob), {
      body: bad.body,
      headers: { 'client-request-id': clientRequestId },
    });
    expect(response.status).toBe(bad.status);
    expectGraphError(response, clientRequestId, bad.code);
    if (bad.message) expect(response.json.error.message).toMatch(bad.message);
    if (bad.allow) expect(response.headers.get('allow')).toBe(bad.allow);
    expect(await observableState()).toEqual(before);
  });

  it('reads a path that starts with // as a path, not as a host (found by the API fuzz suite)', async () => {
    const response = await fetch(`${new URL(t.stack.apiUrl).origin}//elsewhere.example/v1.0${jobs}`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('Request_ResourceNotFound');
  });

  it('the fixture really is observable: a good request changes the observed state', async () => {
    const before = await observableState();
    const response = await t.api('PATCH', syncPath(SP, `/jobs/${fixtureJob}`), { body: { schedule: { interval: 'PT7M' } } });
    expect(response.status).toBe(204);
    expect(await observableState()).not.toEqual(before);
  });
});
