import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueLocalToken } from '../../local/local-auth.ts';
import { OPENAPI_FILE } from '../../tools/openapi/info.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

/**
 * Real answers of the local stack, one or more per route, checked against the committed OpenAPI document: each
 * status must be one the operation declares, and each JSON body must validate against its schema (JSON Schema
 * 2020-12, as OpenAPI 3.1 has it). A handler answering what the document does not say fails here.
 */

// The document is data, read as JSON; tests index into it freely.
const document: Record<string, any> = JSON.parse(await readFile(OPENAPI_FILE, 'utf8'));
const ajv = new Ajv2020({ strict: true, allErrors: true });
ajv.addVocabulary(Object.keys(document));
ajv.addSchema(document, 'openapi.json');

const SYNC = '/v1.0/servicePrincipals/{servicePrincipalId}/synchronization';
const pointer = (...segments: string[]) => segments.map((segment) => segment.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

interface Answer {
  status: number;
  contentType: string;
  headers: Headers;
  text: string;
  json: any;
}

let h: SyncHarness;
let root: string;
let token: string;
let jobId: string;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 3, seedGroups: 1 });
  jobId = await h.startedJob();
  root = h.stack.apiUrl.replace(/\/v1\.0$/, '');
  token = await issueLocalToken(h.dataDir);
});
afterAll(async () => h?.close());

interface SendOptions {
  query?: string;
  body?: unknown;
  /** A token; `null` sends none. The read-write token by default. */
  auth?: string | null;
  /** Path parameters other than the started job and the `scim` template. */
  jobId?: string;
  templateId?: string;
}

/** Sends a request to a route, its path parameters filled in. */
async function send(method: string, template: string, options: SendOptions = {}): Promise<Answer> {
  const path = template
    .replace('{servicePrincipalId}', h.servicePrincipalId)
    .replace('{jobId}', options.jobId ?? jobId)
    .replace('{templateId}', options.templateId ?? 'scim');
  const auth = options.auth === undefined ? token : options.auth;
  const response = await fetch(`${root}${path}${options.query ?? ''}`, {
    method,
    headers: {
      ...(auth === null ? {} : { authorization: `Bearer ${auth}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  return { status: response.status, contentType, headers: response.headers, text, json: contentType.startsWith('application/json') ? JSON.parse(text) : undefined };
}

/**
 * Asserts the answer is one the document declares for the operation, with the headers it declares and a body valid
 * against the declared schema.
 */
function expectDocumented(method: string, template: string, answer: Answer): void {
  const label = `${method} ${template} → ${answer.status} ${answer.text.slice(0, 300)}`;
  const operation = document.paths[template]?.[method.toLowerCase()];
  expect(operation, label).toBeDefined();
  const declared = operation.responses[String(answer.status)];
  expect(declared, `${label}: status not documented`).toBeDefined();
  const base: string = declared.$ref ?? `#/${pointer('paths', template, method.toLowerCase(), 'responses', String(answer.status))}`;
  const response = declared.$ref ? document.components.responses[String(answer.status)] : declared;
  for (const header of Object.keys(response.headers ?? {})) expect(answer.headers.has(header), `${label}: header ${header}`).toBe(true);
  if (!response.content) {
    expect(answer.text, `${label}: no body documented`).toBe('');
    return;
  }
  const [mediaType] = Object.keys(response.content) as [string];
  expect(answer.contentType.split(';')[0], label).toBe(mediaType);
  if (mediaType !== 'application/json') return;
  const validate = ajv.getSchema(`openapi.json${base}/content/${pointer(mediaType)}/schema`)!;
  expect(validate(answer.json), `${label}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

async function expectCall(status: number, method: string, template: string, options?: SendOptions): Promise<Answer> {
  const answer = await send(method, template, options);
  expect(answer.status, `${method} ${template}: ${answer.text.slice(0, 300)}`).toBe(status);
  expectDocumented(method, template, answer);
  return answer;
}

describe('the local stack answers as the OpenAPI document says', () => {
  it('serves the committed document at GET /openapi.json without a token', async () => {
    const answer = await expectCall(200, 'GET', '/openapi.json', { auth: null });
    expect(answer.json).toEqual(document);
  });

  it('lists, creates and reads jobs, their status after a run included', async () => {
    await expectCall(201, 'POST', `${SYNC}/jobs`, { body: { templateId: 'scim', schedule: { interval: 'PT10M' } } });
    const page = await expectCall(200, 'GET', `${SYNC}/jobs`, { query: '?$top=1' });
    expect(page.json['@odata.nextLink']).toMatch(/\$skiptoken=/);
    const job = await expectCall(200, 'GET', `${SYNC}/jobs/{jobId}`);
    // The run filled in what a new job has as null: those shapes are checked too.
    expect(job.json.status.lastExecution).not.toBeNull();
    expect(job.json.status.lastSuccessfulExecution).not.toBeNull();
    const expanded = await expectCall(200, 'GET', `${SYNC}/jobs/{jobId}`, { query: '?$expand=schema' });
    expect(expanded.json.schema.synchronizationRules.length).toBeGreaterThan(0);
  });

  it('answers the schema routes', async () => {
    const schema = await expectCall(200, 'GET', `${SYNC}/jobs/{jobId}/schema`);
    await expectCall(204, 'PUT', `${SYNC}/jobs/{jobId}/schema`, { body: schema.json });
    await expectCall(200, 'GET', `${SYNC}/jobs/{jobId}/schema/functions`);
    await expectCall(200, 'GET', `${SYNC}/jobs/{jobId}/schema/filterOperators`);
    const parsed = await expectCall(200, 'POST', `${SYNC}/jobs/{jobId}/schema/parseExpression`, {
      body: { expression: 'Join(" ", [givenName], [surname])', testInputObject: { properties: [{ key: 'givenName', value: 'Ada' }, { key: 'surname', value: 'Lovelace' }] } },
    });
    expect(parsed.json.evaluationResult).toEqual(['Ada Lovelace']);
    await expectCall(200, 'POST', `${SYNC}/jobs/{jobId}/schema/parseExpression`, { body: { expression: 'Join(' } });
    await expectCall(204, 'DELETE', `${SYNC}/jobs/{jobId}/schema`);
  });

  it('answers the job commands, templates, secrets and provisioning logs', async () => {
    await expectCall(200, 'GET', `${SYNC}/templates`);
    await expectCall(200, 'GET', `${SYNC}/templates/{templateId}`);
    await expectCall(204, 'POST', `${SYNC}/jobs/{jobId}/validateCredentials`, { body: { useSavedCredentials: true } });
    const [user] = await h.listAll('users', 'id');
    const schema = (await send('GET', `${SYNC}/jobs/{jobId}/schema`)).json;
    await expectCall(200, 'POST', `${SYNC}/jobs/{jobId}/provisionOnDemand`, {
      body: { parameters: [{ ruleId: schema.synchronizationRules[0].id, subjects: [{ objectId: user.id, objectTypeName: 'User' }] }] },
    });
    const logs = await expectCall(200, 'GET', '/v1.0/auditLogs/provisioning', { query: `?$top=2&$filter=${encodeURIComponent(`jobId eq '${jobId}'`)}` });
    expect(logs.json.value).toHaveLength(2);
    await expectCall(204, 'PATCH', `${SYNC}/jobs/{jobId}`, { body: { schedule: { interval: 'PT20M' } } });
    await expectCall(204, 'POST', `${SYNC}/jobs/{jobId}/pause`);
    await expectCall(204, 'POST', `${SYNC}/jobs/{jobId}/start`, { body: {} });
    await expectCall(204, 'POST', `${SYNC}/jobs/{jobId}/restart`, { body: { criteria: { resetScope: 'Watermark' } } });
    await expectCall(204, 'PUT', `${SYNC}/secrets`, {
      body: { value: [{ key: 'BaseAddress', value: h.scim.url }, { key: 'SecretToken', value: h.scimToken }, { key: 'SyncAll', value: 'true' }] },
    });
    h.discardTriggered();
  });

  it("answers refusals with Graph's error body and a documented status", async () => {
    await expectCall(400, 'GET', `${SYNC}/jobs`, { query: '?$top=0' });
    await expectCall(400, 'PATCH', `${SYNC}/jobs/{jobId}`, { body: { schedule: { interval: 'soon' } } });
    await expectCall(401, 'GET', `${SYNC}/jobs`, { auth: null });
    await expectCall(403, 'POST', `${SYNC}/jobs/{jobId}/start`, { auth: await issueLocalToken(h.dataDir, { readOnly: true }) });
    await expectCall(404, 'GET', `${SYNC}/jobs/{jobId}`, { jobId: `scim.${'0'.repeat(32)}.tenant` });
    await expectCall(404, 'GET', `${SYNC}/templates/{templateId}`, { templateId: 'none' });
    await expectCall(413, 'PUT', `${SYNC}/secrets`, { body: { value: [{ key: 'x', value: 'y'.repeat(70 * 1024) }] } });
    // No route: answered by the fallback, in Graph's error body.
    const fallback = await send('PUT', `${SYNC}/jobs`);
    expect(fallback.status).toBe(405);
    const graphError = ajv.getSchema('openapi.json#/components/schemas/graphError')!;
    expect(graphError(fallback.json), ajv.errorsText(graphError.errors)).toBe(true);
  });

  it("answers Graph's webhook: the handshake, and a batch it refuses", async () => {
    const handshake = await expectCall(200, 'POST', '/notifications', { query: '?validationToken=abc%20def', auth: null });
    expect(handshake.text).toBe('abc def');
    await expectCall(400, 'POST', '/notifications', { body: '{"value":[]}', auth: null });
    await expectCall(403, 'POST', '/notifications', { body: { value: [{ subscriptionId: 'unknown', clientState: 'x' }] }, auth: null });
  });

  it('finds an answer that is not as documented (the checks above can fail)', async () => {
    const job = await send('GET', `${SYNC}/jobs/{jobId}`);
    const validate = ajv.getSchema(`openapi.json#/${pointer('paths', `${SYNC}/jobs/{jobId}`, 'get', 'responses', '200')}/content/application~1json/schema`)!;
    expect(validate({ ...job.json, status: { ...job.json.status, code: 'Running' } })).toBe(false);
    expect(validate({ ...job.json, unknownProperty: true })).toBe(false);
    expect(validate(job.json)).toBe(true);
  });
});
