import { describe, expect, it } from 'vitest';
import { checkSchema } from '../../functions/domain/mapping/schema-validation.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';
import type { SynchronizationSchema } from '../../functions/domain/mapping/schema.ts';

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
});
