import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, syncPath, type TestStack } from '../support/local-stack.ts';

const SP = 'schema-tools-app';
let t: TestStack;
let jobId: string;

beforeAll(async () => {
  t = await startTestStack();
  const created = await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } });
  jobId = created.json.id;
});
afterAll(async () => t?.close());

const parse = (body: unknown, token?: string) =>
  t.api('POST', syncPath(SP, `/jobs/${jobId}/schema/parseExpression`), { body, ...(token ? { token } : {}) });

describe('schema tools of a job', () => {
  it('lists the expression functions the engine evaluates', async () => {
    const response = await t.api('GET', syncPath(SP, `/jobs/${jobId}/schema/functions`));
    expect(response.status).toBe(200);
    const names = (response.json.value as { name: string }[]).map((fn) => fn.name);
    expect(names).toEqual(expect.arrayContaining(['Append', 'Coalesce', 'IIF', 'Join', 'Not', 'Switch', 'ToLower', 'ToUpper']));
    expect(response.json.value.find((fn: { name: string }) => fn.name === 'Join').parameters[0]).toMatchObject({ name: 'separator' });
  });

  it('parses and evaluates an expression against test properties', async () => {
    const response = await parse({
      expression: 'ToLower(Join(".", [givenName], [surname]))',
      testInputObject: { definition: null, properties: [{ key: 'givenName', value: 'Ada' }, { key: 'surname', value: 'Lovelace' }] },
      targetAttributeDefinition: null,
    });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      parsingSucceeded: true,
      evaluationSucceeded: true,
      evaluationResult: ['ada.lovelace'],
      error: null,
      parsedExpression: { type: 'Function', name: 'ToLower' },
    });
  });

  it('reports a malformed expression in the response, as Graph does', async () => {
    const response = await parse({ expression: 'Join(",", [givenName]' });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ parsingSucceeded: false, evaluationSucceeded: false, parsedExpression: null, error: { code: 'ExpressionParsingFailed' } });
  });

  it.each([
    ['no expression', {}, 400],
    ['an unknown job', null, 404],
  ])('answers %s with a Graph error', async (_name, body, status) => {
    const response =
      body === null
        ? await t.api('POST', syncPath(SP, `/jobs/scim.${'0'.repeat(32)}.00000000-0000-4000-8000-000000000001/schema/parseExpression`), {
            body: { expression: '[mail]' },
          })
        : await parse(body);
    expect(response.status).toBe(status);
    expect(response.json.error.code).toEqual(expect.any(String));
  });

  it('needs write permission to parse, read permission to list', async () => {
    const readOnly = await t.issueToken({ readOnly: true });
    expect((await parse({ expression: '[mail]' }, readOnly)).status).toBe(403);
    expect((await t.api('GET', syncPath(SP, `/jobs/${jobId}/schema/functions`), { token: readOnly })).status).toBe(200);
  });
});
