import { describe, expect, it } from 'vitest';
import { findObjectMapping, mappingUsesRegex } from '../../functions/domain/mapping/attribute-mapping.ts';
import { parseExpressionSyntax } from '../../functions/domain/mapping/expression.ts';
import { parseAndEvaluate } from '../../functions/domain/mapping/parse-expression-response.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';
import { filterSchema, type ObjectMapping } from '../../functions/domain/mapping/schema.ts';
import { RegexEngineNotLoadedError, tenantRegex, withRegexEngine } from '../../functions/domain/mapping/tenant-regex.ts';

// In the order written: the engine is loaded by the test that needs it, and stays loaded in this file (the worker's
// connect loads it too: connect-regex-engine.test.ts).
describe('the regular expression engine, loaded on first need', () => {
  const users = findObjectMapping(scimDefaultSchema, 'User')!.objectMapping;
  const withSource = (expression: string): ObjectMapping => ({
    ...users,
    attributeMappings: [...users.attributeMappings, { ...users.attributeMappings[0]!, source: parseExpressionSyntax(expression) }],
  });
  const scopedBy = (operatorName: string): ObjectMapping => ({
    ...users,
    scope: filterSchema.parse({ groups: [{ name: 'g', clauses: [{ sourceOperandName: 'department', operatorName, targetOperand: { values: ['^Sales'] } }] }] }),
  });

  it('tells the mappings that may compile a pattern: Replace given a regexPattern, a regex scoping operator', () => {
    expect(mappingUsesRegex(users)).toBe(false);
    expect(mappingUsesRegex(findObjectMapping(scimDefaultSchema, 'Group')!.objectMapping)).toBe(false);
    expect(mappingUsesRegex(withSource('Replace([mail], "@", , , "#", , )'))).toBe(false);
    expect(mappingUsesRegex(withSource('ToLower(Replace([mail], , "@.*", , "", , ))'))).toBe(true);
    expect(mappingUsesRegex(scopedBy('EQUALS'))).toBe(false);
    expect(mappingUsesRegex(scopedBy('not regex match'))).toBe(true);
  });

  it('is not loaded for an expression without a regular expression', async () => {
    const response = await withRegexEngine(() => parseAndEvaluate('ToLower([mail])', { mail: 'A@B' }));
    expect(response.evaluationResult).toEqual(['a@b']);
    expect(() => tenantRegex('a+', 'test')).toThrow(RegexEngineNotLoadedError);
  });

  it('is loaded for an expression that has one, which then runs', async () => {
    const response = await withRegexEngine(() => parseAndEvaluate('Replace([mail], , "a+", , "b", , )', { mail: 'caab' }));
    expect(response.evaluationResult).toEqual(['cbb']);
    expect(tenantRegex('a+', 'test').test('caab')).toBe(true);
  });
});
