import { beforeAll, describe, expect, it } from 'vitest';
import { checkSchema } from '../../functions/domain/mapping/schema-validation.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';
import { MAX_SCHEMA_BYTES } from '../../functions/domain/mapping/limits.ts';
import { synchronizationSchemaSchema, type SynchronizationSchema } from '../../functions/domain/mapping/schema.ts';
import { loadRegexEngine } from '../../functions/domain/mapping/tenant-regex.ts';

// The engine is loaded on first need (tenant-regex.ts); these tests compile patterns directly.
beforeAll(() => loadRegexEngine());

const replace = (pattern: string) => ({
  type: 'Function',
  name: 'Replace',
  expression: null,
  parameters: [
    { key: 'source', value: { type: 'Attribute', name: 'mail', expression: null, parameters: [] } },
    { key: 'regexPattern', value: { type: 'Constant', name: pattern, expression: null, parameters: [] } },
    { key: 'replacementValue', value: { type: 'Constant', name: 'x', expression: null, parameters: [] } },
  ],
});

function changed(edit: (users: any, schema: any) => void): SynchronizationSchema {
  const schema = structuredClone(scimDefaultSchema) as any;
  edit(schema.synchronizationRules[0].objectMappings.find((mapping: any) => mapping.sourceObjectName === 'User'), schema);
  return schema;
}

describe('checkSchema', () => {
  it('accepts the template schema as it is', () => {
    expect(checkSchema(scimDefaultSchema)).toEqual({ schema: scimDefaultSchema });
  });

  it.each([
    ['a scoping filter with an unknown operator', (users: any) => (users.scope = { groups: [{ name: 'g', clauses: [{ sourceOperandName: 'department', operatorName: 'SOUNDS_LIKE', targetOperand: { values: ['x'] } }] }], inputFilterGroups: [], categoryFilterGroups: [] }), /SOUNDS_LIKE/],
    ['a scoping filter on an unknown attribute', (users: any) => (users.scope = { groups: [{ name: 'g', clauses: [{ sourceOperandName: 'shoeSize', operatorName: 'EQUALS', targetOperand: { values: ['x'] } }] }], inputFilterGroups: [], categoryFilterGroups: [] }), /reads 'shoeSize'/],
    ['no matching attribute', (users: any) => users.attributeMappings.forEach((mapping: any) => (mapping.matchingPriority = 0)), /matchingPriority/],
    ['an unknown target attribute', (users: any) => users.attributeMappings.push({ ...users.attributeMappings[0], targetAttributeName: 'nickName2', matchingPriority: 0 }), /no such attribute/],
    ['an unknown source attribute', (users: any) => (users.attributeMappings[0].source = { type: 'Attribute', name: 'shoeSize', expression: null, parameters: [] }), /no attribute 'shoeSize'/],
    ['an unknown function', (users: any) => (users.attributeMappings[0].source = { type: 'Function', name: 'Nope', expression: null, parameters: [{ key: 'source', value: { type: 'Attribute', name: 'mail', expression: null, parameters: [] } }] }), /unknown function 'Nope'/],
    ['neither source nor default', (users: any) => (users.attributeMappings[0].source = null), /needs a source or a defaultValue/],
    ['a constant regexPattern the engine cannot run', (users: any) => (users.attributeMappings[0].source = replace('(a)\\1')), /target attribute 'userName': Replace: invalid regexPattern "\(a\)\\\\1": it uses a backreference/],
    ['one in expression text', (users: any) => (users.attributeMappings[0].source = { type: 'Function', name: 'Replace', expression: 'Replace([mail], , "(?=x)", , "y", , )', parameters: [] }), /it uses a lookahead/],
    ['a scoping regex the engine cannot run', (users: any) => (users.scope = { groups: [{ name: 'g', clauses: [{ sourceOperandName: 'mail', operatorName: 'REGEX_MATCH', targetOperand: { values: ['(?<!x)y'] } }] }], inputFilterGroups: [], categoryFilterGroups: [] }), /it uses a lookbehind/],
    ['two anchors', (_users: any, schema: any) => schema.directories[0].objects[0].attributes.forEach((attribute: any) => (attribute.anchor = true)), /anchor/],
  ])('refuses %s', (_name, edit, problem) => {
    const result = checkSchema(changed(edit));
    expect('problems' in result && result.problems.join(' ')).toMatch(problem);
  });

  it('parses a Function given only as expression text', () => {
    const result = checkSchema(changed((users) => (users.attributeMappings[0].source = { type: 'Function', name: 'ToLower', expression: 'ToLower([userPrincipalName])', parameters: [] })));
    expect('schema' in result).toBe(true);
    if (!('schema' in result)) return;
    const source = result.schema.synchronizationRules[0]!.objectMappings.find((mapping) => mapping.sourceObjectName === 'User')!.attributeMappings[0]!.source;
    expect(source).toMatchObject({ type: 'Function', name: 'ToLower', parameters: [{ key: 'source', value: { type: 'Attribute', name: 'userPrincipalName' } }] });
  });

  it('refuses a schema that would be stored larger than the limit, once its defaults are filled in', () => {
    // Sparse attribute definitions: small as sent, each about 250 bytes once Graph's defaults are filled in.
    const schema = changed((_users, raw) => raw.directories[0].objects[0].attributes.push(...Array.from({ length: 1_200 }, (_, index) => ({ name: `extra${index}` }))));
    const parsed = synchronizationSchemaSchema.parse(schema);
    expect(JSON.stringify(schema).length).toBeLessThan(MAX_SCHEMA_BYTES);
    const result = checkSchema(parsed);
    expect('problems' in result && result.problems).toEqual([expect.stringMatching(/^The schema would be stored as \d+ bytes .*; at most 262144 are allowed\.$/)]);
  });
});

describe('synchronizationSchemaSchema', () => {
  it('refuses a mapping source nested 640 levels with an issue naming the limit, not a stack overflow', () => {
    let source: unknown = { type: 'Attribute', name: 'mail' };
    for (let level = 0; level < 640; level += 1) source = { type: 'Function', name: 'ToLower', parameters: [{ key: 'source', value: source }] };
    const schema = changed((users) => (users.attributeMappings[0].source = source));
    const parsed = synchronizationSchemaSchema.safeParse(schema);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/An expression may nest at most 32 levels/);
  });
});
