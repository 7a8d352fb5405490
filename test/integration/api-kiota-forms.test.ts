import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

/**
 * The request forms the Kiota Graph SDK sends, over plain HTTP without the SDK (api-kiota-sdk.test.ts drives the SDK
 * itself over https): PATCH on the schema, flags without spaces or empty, OData function calls with `()`, members
 * left out when null, `@odata.type` on bodies.
 */

const SP = 'kiota-forms-app';
let t: TestStack;
let jobId: string;
let schemaPath: string;

beforeAll(async () => {
  t = await startTestStack();
  jobId = (await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } })).json.id;
  schemaPath = syncPath(SP, `/jobs/${jobId}/schema`);
});
afterAll(async () => t?.close());

const usersMapping = (schema: any) => schema.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User');

describe('PATCH on a job schema', () => {
  it('replaces the schema as PUT does', async () => {
    const schema = (await t.api('GET', schemaPath)).json;
    usersMapping(schema).flowTypes = 'Add,Update';
    const patched = await t.api('PATCH', schemaPath, { body: schema });
    expect(patched.status).toBe(204);
    const read = (await t.api('GET', schemaPath)).json;
    expect(usersMapping(read).flowTypes).toBe('Add, Update');
    expect(Number(read.version)).toBeGreaterThan(Number(schema.version));
  });

  it.each([
    ['a rule naming no directory', (schema: any) => ({ ...schema, synchronizationRules: [{ ...schema.synchronizationRules[0], sourceDirectoryName: 'Nowhere' }] })],
    ['an unknown flow type', (schema: any) => (usersMapping(schema).flowTypes = 'Add,Upsert', schema)],
    ['no body', () => undefined],
  ])('refuses %s with the error PUT gives, and changes nothing', async (_name, edit) => {
    const before = (await t.api('GET', schemaPath)).json;
    const answers = [];
    for (const method of ['PUT', 'PATCH']) {
      const body = edit(structuredClone(before));
      answers.push(await t.api(method, schemaPath, body === undefined ? {} : { body }));
    }
    const [put, patch] = answers;
    expect(put!.status).toBe(400);
    expect(patch!.status).toBe(put!.status);
    expect(patch!.json.error.code).toBe(put!.json.error.code);
    expect(patch!.json.error.message).toBe(put!.json.error.message);
    expect((await t.api('GET', schemaPath)).json).toEqual(before);
  });

  it('keeps the flags a mapping and a directory have when a write leaves them empty', async () => {
    const schema = (await t.api('GET', schemaPath)).json;
    usersMapping(schema).flowTypes = 'Update';
    expect((await t.api('PUT', schemaPath, { body: schema })).status).toBe(204);
    const stored = (await t.api('GET', schemaPath)).json;

    const emptied = structuredClone(stored);
    for (const mapping of emptied.synchronizationRules[0].objectMappings) mapping.flowTypes = '';
    for (const directory of emptied.directories) directory.discoverabilities = '';
    expect((await t.api('PATCH', schemaPath, { body: emptied })).status).toBe(204);
    const read = (await t.api('GET', schemaPath)).json;
    const { version: _before, ...expected } = stored;
    const { version: _after, ...actual } = read;
    expect(actual).toEqual(expected);
    expect(usersMapping(read).flowTypes).toBe('Update');
  });
});

describe('schema functions called as OData functions', () => {
  it.each([
    ['functions', 'Join'],
    ['functions()', 'Join'],
    ['functions%28%29', 'Join'],
    ['filterOperators', 'EQUALS'],
    ['filterOperators()', 'EQUALS'],
  ])('answers %s', async (segment, member) => {
    const response = await t.api('GET', `${schemaPath}/${segment}`);
    expect(response.status).toBe(200);
    const entry = response.json.value.find((item: { name: string }) => item.name === member);
    expect(entry.id).toBe(member);
  });

  it.each(['directories', 'parseExpression()', 'functions(x)', 'Functions()'])('answers 404 for %s', async (segment) => {
    const response = await t.api('GET', `${schemaPath}/${segment}`);
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe('Request_ResourceNotFound');
  });

  it('answers 404 for a job that does not exist, and 401 without a token', async () => {
    const missing = await t.api('GET', syncPath(SP, `/jobs/scim.${'f'.repeat(32)}.${jobId.split('.')[2]}/schema/functions()`));
    expect(missing.status).toBe(404);
    expect((await t.api('GET', `${schemaPath}/functions()`, { token: null })).status).toBe(401);
  });

  it.each(['functions', 'functions()'])('answers 405 for another method on %s', async (segment) => {
    const response = await t.api('POST', `${schemaPath}/${segment}`, { body: {} });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
  });

  it('answers 404, not 405, for another method on a segment that names no function', async () => {
    const response = await t.api('PUT', `${schemaPath}/directories`, { body: {} });
    expect(response.status).toBe(404);
  });
});

describe('bodies as the Kiota SDK writes them', () => {
  it('takes test properties without value as null ones', async () => {
    const response = await t.api('POST', `${schemaPath}/parseExpression`, {
      body: { expression: 'Coalesce([surname], [givenName])', testInputObject: { properties: [{ key: 'givenName', value: 'Ada' }, { key: 'surname' }] } },
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ parsingSucceeded: true, evaluationSucceeded: true, evaluationResult: ['Ada'] });
  });

  it('accepts @odata.type on the objects of strict bodies', async () => {
    const type = (name: string) => ({ '@odata.type': `#microsoft.graph.${name}` });
    const secrets = await t.api('PUT', syncPath(SP, '/secrets'), {
      body: { value: [{ ...type('synchronizationSecretKeyStringValuePair'), key: 'SyncAll', value: 'true' }] },
    });
    expect(secrets.status).toBe(204);
    const created = await t.api('POST', syncPath(SP, '/jobs'), {
      body: { ...type('synchronizationJob'), templateId: 'scim', schedule: { ...type('synchronizationSchedule'), interval: 'PT20M' } },
    });
    expect(created.status).toBe(201);
    const id = created.json.id;
    const restart = await t.api('POST', syncPath(SP, `/jobs/${id}/restart`), {
      body: { criteria: { ...type('synchronizationJobRestartCriteria'), resetScope: 'Watermark,Escrows' } },
    });
    // Refused for want of target secrets: the body itself was taken.
    expect(restart.status).toBe(400);
    expect(restart.json.error.message).toMatch(/^The job cannot start: the secrets BaseAddress, SecretToken are not set/);
    const pause = await t.api('POST', syncPath(SP, `/jobs/${id}/pause`), { body: type('synchronizationJob') });
    expect(pause.status).toBe(204);
    const update = await t.api('PATCH', syncPath(SP, `/jobs/${id}`), {
      body: { ...type('synchronizationJob'), synchronizationJobSettings: [{ ...type('keyValuePair'), name: 'FlattenNestedGroups', value: 'True' }] },
    });
    expect(update.status).toBe(204);
    // The annotation is not stored with the setting.
    const settings = (await t.api('GET', syncPath(SP, `/jobs/${id}`))).json.synchronizationJobSettings;
    expect(settings.find((setting: { name: string }) => setting.name === 'FlattenNestedGroups')).toEqual({ name: 'FlattenNestedGroups', value: 'True' });
  });

  it('still refuses other unknown members of strict bodies', async () => {
    const response = await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim', '@odata.etag': 'x' } });
    expect(response.status).toBe(400);
  });
});
