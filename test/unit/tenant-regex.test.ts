import { beforeAll, describe, expect, it } from 'vitest';
import { ExpressionError } from '../../functions/domain/mapping/expression-error.ts';
import { MAX_REGEX_PATTERN_LENGTH } from '../../functions/domain/mapping/limits.ts';
import { loadRegexEngine, RegexPatternError, regexProblem, tenantRegex } from '../../functions/domain/mapping/tenant-regex.ts';

// The engine is loaded on first need (tenant-regex.ts); these tests compile patterns directly.
beforeAll(() => loadRegexEngine());

const spans = (pattern: string, text: string, group: string | null = null) => [...tenantRegex(pattern, 'test').spans(text, group)];

describe('tenant regular expressions', () => {
  // With JavaScript's backtracking RegExp this took over a second (and doubles with each extra "a").
  it.each([
    ['^(a|a)*$', false, `${'a'.repeat(28)}!`],
    ['^(a|a)*$', true, 'a'.repeat(28)],
    ['(a+)+$', true, 'a'.repeat(5_000)],
    ['^([a-z]+)+$', false, `${'a'.repeat(5_000)}!`],
  ])('%s answers %s without backtracking', (pattern, expected, text) => {
    expect(tenantRegex(pattern, 'test').test(text)).toBe(expected);
  });

  it('finds the spans of a ReDoS pattern in linear time', () => {
    expect(spans('(a|a)*!', `${'a'.repeat(28)}!`)).toEqual([[0, 29]]);
    expect(spans('(a|a)*b', `${'a'.repeat(28)}!`)).toEqual([]);
  });

  it('reads JavaScript syntax: named groups, \\u escapes, classes', () => {
    expect(spans('^(?<user>[^@]+)@', 'zoe@contoso.com', 'user')).toEqual([[0, 3]]);
    expect(spans('\\u00e9', 'café')).toEqual([[3, 4]]);
    expect(spans('[0-9]{3}', 'a123b456')).toEqual([[1, 4], [5, 8]]);
    expect(spans('(?<n>x)|y', 'xy', 'n')).toEqual([[0, 1]]);
    expect(spans('a', 'a', 'missing')).toEqual([]);
  });

  it.each([
    ['(a)\\1', /backreference/],
    ['(?<n>a)\\k<n>', /backreference/],
    ['a(?=b)', /lookahead/],
    ['a(?!b)', /lookahead/],
    ['(?<=a)b', /lookbehind/],
    ['(?<!a)b', /lookbehind/],
    ['(unclosed', /missing closing \)/],
    ['[z-a]', /invalid character class range/],
    ['a'.repeat(MAX_REGEX_PATTERN_LENGTH + 1), /1001 characters long, and a pattern may have at most 1000/],
    ['\\pL{999}\\pL{999}', /compiles to \d+ instructions, and a pattern may compile to at most 1000/],
  ])('refuses %#, saying why', (pattern, reason) => {
    expect(regexProblem(pattern)).toMatch(reason);
    expect(() => tenantRegex(pattern, 'Replace: invalid regexPattern')).toThrow(RegexPatternError);
    expect(() => tenantRegex(pattern, 'Replace: invalid regexPattern')).toThrow(/^Replace: invalid regexPattern "/);
  });

  it('accepts what RE2 runs', () => {
    expect(regexProblem('^[A-Za-z0-9._%+-]+@contoso\\.com$')).toBeNull();
    expect(spans('\\\\k<n>', 'a\\k<n>')).toEqual([[1, 6]]);
  });

  it('refuses to run a large pattern on a text so long the work would take seconds', () => {
    const regex = tenantRegex('\\w{900}\\d', 'test');
    expect(regex.test('ab'.repeat(100))).toBe(false);
    expect(() => regex.test('ab'.repeat(30_000))).toThrow(ExpressionError);
    expect(() => regex.test('ab'.repeat(30_000))).toThrow(/too costly to run on a value of 60000 characters/);
  });
});
