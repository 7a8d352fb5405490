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

describe('limits of parseExpression and schema PUT', () => {
  const schemaPath = () => syncPath(SP, `/jobs/${jobId}/schema`);
  const refused = (response: { status: number; json: any }, message: RegExp) => {
    expect(response.status).toBe(400);
    expect(response.json.error).toMatchObject({ code: 'invalidRequest', message: expect.stringMatching(message) });
  };
  /** The job's schema with the User mapping edited. */
  async function editedSchema(edit: (users: any) => void): Promise<any> {
    const schema = (await t.api('GET', schemaPath())).json;
    edit(schema.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User'));
    return schema;
  }
  const scoped = (pattern: string) => (users: any) =>
    (users.scope = { groups: [{ name: 'g', clauses: [{ sourceOperandName: 'displayName', operatorName: 'REGEX_MATCH', targetOperand: { values: [pattern] } }] }] });

  // Backtracking, this pattern on 34 characters ran for more than a minute and blocked every other request.
  it('runs a ReDoS pattern in Replace in linear time', async () => {
    const name = `${'a'.repeat(34)}!`;
    const response = await parse({ expression: 'Replace([displayName], , "^(a|a)*$", , "x", , )', testInputObject: { properties: [{ key: 'displayName', value: name }] } });
    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({ parsingSucceeded: true, evaluationSucceeded: true, evaluationResult: [name] });
  });

  it.each([
    ['a backreference', 'Replace([mail], , "(a)\\\\1", , "x", , )', /invalid regexPattern "\(a\)\\\\1": it uses a backreference/],
    ['a lookbehind', 'Replace([mail], , "(?<=@)contoso", , "x", , )', /it uses a lookbehind/],
    ['an expression nested 1,500 levels', `${'Not('.repeat(1_500)}"True"${')'.repeat(1_500)}`, /An expression may nest at most 32 levels/],
    ['an expression whose parsed form is megabytes', `${'ToLower('.repeat(30)}"${'x'.repeat(9_000)}"${')'.repeat(30)}`, /The parsed expression would have \d+ characters .*at most 131072 are allowed/],
  ])('refuses %s with a short 400', async (_name, expression, message) => {
    const response = await parse({ expression });
    refused(response, message);
    expect(response.text.length).toBeLessThan(2_000);
  });

  it('accepts a ReDoS pattern in a scoping filter, and refuses one the engine cannot run, changing nothing', async () => {
    expect((await t.api('PUT', schemaPath(), { body: await editedSchema(scoped('^(a|a)*$')) })).status).toBe(204);
    const before = (await t.api('GET', schemaPath())).json;
    refused(await t.api('PUT', schemaPath(), { body: await editedSchema(scoped('^(?!admin)')) }), /REGEX_MATCH "\^\(\?!admin\)" is not a valid regular expression: it uses a lookahead/);
    expect((await t.api('GET', schemaPath())).json).toEqual(before);
  });

  it.each([
    [
      'a mapping source nested 640 levels',
      (users: any) => {
        let source: unknown = { type: 'Attribute', name: 'mail' };
        for (let level = 0; level < 640; level += 1) source = { type: 'Function', name: 'ToLower', parameters: [{ key: 'source', value: source }] };
        users.attributeMappings[0].source = source;
      },
      /An expression may nest at most 32 levels/,
    ],
    [
      'a schema stored larger than the limit',
      // About 90 KB as sent, each expression several times its size once parsed.
      (users: any) => {
        const expression = `${'ToLower('.repeat(25)}"${'x'.repeat(3_500)}"${')'.repeat(25)}`;
        for (let index = 0; index < 25; index += 1) {
          users.attributeMappings.push({ ...users.attributeMappings[0], matchingPriority: 0, source: { type: 'Function', name: 'ToLower', expression, parameters: [] } });
        }
      },
      /The schema would be stored as \d+ bytes .*; at most 262144 are allowed/,
    ],
    [
      'a constant regexPattern the engine cannot run',
      (users: any) =>
        (users.attributeMappings[0].source = { type: 'Function', name: 'Replace', expression: 'Replace([mail], , "(a)\\\\1", , "x", , )', parameters: [] }),
      /it uses a backreference/,
    ],
  ])('refuses %s with a 400 and changes nothing', async (_name, edit, message) => {
    const before = (await t.api('GET', schemaPath())).json;
    const body = await editedSchema(edit);
    expect(JSON.stringify(body).length).toBeLessThan(256 * 1024);
    refused(await t.api('PUT', schemaPath(), { body }), message);
    expect((await t.api('GET', schemaPath())).json).toEqual(before);
  });
});
