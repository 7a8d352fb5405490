import { ListSchedulesCommand } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes, type ApiRoute } from '../../functions/api/routes.ts';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'existence-app';
const OTHER_TENANT = '00000000-0000-4000-8000-0000000000e2';
const UNKNOWN_JOB = `scim.${'e'.repeat(32)}.${LOCAL_TENANT_ID}`;
const MALFORMED_JOB = 'scim.not-hex.tenant';

/** Every route that addresses one job; a route added later is covered without touching this file. */
const jobRoutes = apiRoutes.filter((route) => route.path.includes('{jobId}'));

/** A request variant: a JSON value, or a string sent as it is. */
interface Variant {
  body?: unknown;
  query?: string;
}

/**
 * Per route: a request it accepts for an existing job, and one its own checks refuse (a value, or a state such
 * as missing secrets, not the JSON shape). `{schema}` is replaced by the fixture job's schema.
 */
const requests: Record<string, { accepted: Variant; refused?: Variant }> = {
  'jobs-get': { accepted: {}, refused: { query: '?$expand=status' } },
  'jobs-update': { accepted: { body: { schedule: { interval: 'PT10M' } } }, refused: { body: { schedule: { interval: 'PT30S' } } } },
  'jobs-delete': { accepted: {} },
  // The caller has stored no secrets, so start and restart are refused for that reason once the job is found.
  'jobs-start': { accepted: { body: {} } },
  'jobs-pause': { accepted: { body: {} } },
  'jobs-restart': { accepted: { body: { criteria: { resetScope: 'Full' } } }, refused: { body: { criteria: { resetScope: 'Everything' } } } },
  'jobs-validate-credentials': { accepted: { body: { useSavedCredentials: true } }, refused: { body: { useSavedCredentials: false } } },
  'jobs-provision-on-demand': {
    accepted: { body: { parameters: [{ ruleId: 'rule-1', subjects: [{ objectId: 'user-1', objectTypeName: 'User' }] }] } },
    refused: { body: { parameters: [{ ruleId: 'no-such-rule', subjects: [{ objectId: 'user-1', objectTypeName: 'User' }] }] } },
  },
  'jobs-schema-get': { accepted: {} },
  'jobs-schema-put': { accepted: { body: '{schema}' }, refused: { body: '{refused-schema}' } },
  'jobs-schema-delete': { accepted: {} },
  'jobs-schema-functions': { accepted: {} },
  'jobs-schema-filter-operators': { accepted: {} },
  'jobs-schema-function-call': { accepted: {} },
  'jobs-schema-parse-expression': { accepted: { body: { expression: '[mail]' } }, refused: { body: { expression: '' } } },
};

let t: TestStack;
let otherToken: string;
let othersJob: string;
let schema: Record<string, any>;

function pathOf(route: ApiRoute, jobId: string, query = ''): string {
  return route.path.replace('/v1.0', '').replace('{servicePrincipalId}', SP).replace('{jobId}', jobId).replace('{functionCall}', 'functions()') + query;
}

function bodyOf(variant: Variant): unknown {
  if (variant.body === '{schema}') return schema;
  if (variant.body === '{refused-schema}') {
    return { ...schema, synchronizationRules: [{ ...schema.synchronizationRules[0], sourceDirectoryName: 'Nowhere' }] };
  }
  return variant.body;
}

interface Case {
  name: string;
  route: ApiRoute;
  jobId: () => string;
  variant: Variant;
}

const missingJobCases: Case[] = jobRoutes.flatMap((route): Case[] => {
  const { accepted, refused } = requests[route.handler] ?? { accepted: {} };
  const label = `${route.method} ${route.path.split('/jobs/{jobId}')[1] || '/jobs/{jobId}'}`;
  // A GET carries no body (fetch refuses one), so its refused request is a query option.
  const bodies: [string, Variant][] =
    route.method === 'GET'
      ? []
      : [
          ['malformed JSON', { ...accepted, body: '{"schedule":' }],
          ['a body of the wrong shape', { ...accepted, body: '[1]' }],
        ];
  const variants: [string, Variant][] = [
    ['an accepted request', accepted],
    ...bodies,
    ...(refused ? [['a request the route refuses', refused] as [string, Variant]] : []),
  ];
  return variants.flatMap(([what, variant]) => [
    { name: `${label}: unknown job, ${what}`, route, jobId: () => UNKNOWN_JOB, variant },
    { name: `${label}: another tenant's job, ${what}`, route, jobId: () => othersJob, variant },
  ]);
});

async function othersView() {
  const job = await t.api('GET', syncPath(SP, `/jobs/${othersJob}`), { token: otherToken });
  const schemaOf = await t.api('GET', syncPath(SP, `/jobs/${othersJob}/schema`), { token: otherToken });
  const schedules = await t.scheduler.send(new ListSchedulesCommand({ GroupName: t.stack.scheduleGroup }));
  return {
    job: [job.status, job.json],
    schema: [schemaOf.status, schemaOf.json],
    schedules: (schedules.Schedules ?? []).map((schedule) => `${schedule.Name}:${schedule.State}`).sort(),
  };
}

beforeAll(async () => {
  t = await startTestStack();
  otherToken = await t.issueToken({ tenantId: OTHER_TENANT });
  // The other tenant's job is real, started and has secrets; the caller has none of its own.
  const secrets = await t.api('PUT', syncPath(SP, '/secrets'), {
    token: otherToken,
    body: { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: 'other' }] },
  });
  expect(secrets.status).toBe(204);
  const created = await t.api('POST', syncPath(SP, '/jobs'), { token: otherToken, body: { templateId: 'scim' } });
  expect(created.status).toBe(201);
  othersJob = created.json.id;
  const fixture = await t.api('GET', syncPath(SP, `/jobs/${othersJob}/schema`), { token: otherToken });
  expect(fixture.status).toBe(200);
  schema = fixture.json;
});

afterAll(async () => {
  await t?.close();
});

describe('every job route answers 404 for a job the caller does not have, before any other check', () => {
  it('knows a request for every job route', () => {
    expect(jobRoutes.map((route) => route.handler).filter((handler) => !requests[handler])).toEqual([]);
  });

  it.each(missingJobCases)('$name → 404', async ({ route, jobId, variant }) => {
    const before = await othersView();
    const response = await t.api(route.method, pathOf(route, jobId(), variant.query), { body: bodyOf(variant) });
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('Request_ResourceNotFound');
    expect(response.json.error.message).toContain(jobId());
    expect(await othersView()).toEqual(before);
  });

  it.each(jobRoutes.map((route) => ({ name: `${route.method} ${route.path}`, route })))(
    '$name with a malformed job id → 400, whatever the body',
    async ({ route }) => {
      const body = route.method === 'GET' ? undefined : '{"schedule":';
      const response = await t.api(route.method, pathOf(route, MALFORMED_JOB), { body });
      expect(response.status).toBe(400);
      expect(response.json.error.code).toBe('invalidRequest');
      expect(response.json.error.message).toMatch(/job id/);
    },
  );

  it("the other tenant's own requests still reach its job", async () => {
    const response = await t.api('POST', syncPath(SP, `/jobs/${othersJob}/start`), { token: otherToken });
    expect(response.status).toBe(204);
    expect((await t.api('GET', syncPath(SP, `/jobs/${othersJob}`), { token: otherToken })).json.schedule.state).toBe('Active');
  });
});
