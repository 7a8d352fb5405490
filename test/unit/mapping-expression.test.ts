import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ExpressionError, UnsupportedExpressionError } from '../../functions/domain/mapping/expression-error.ts';
import { evaluate } from '../../functions/domain/mapping/expression-evaluator.ts';
import { listFunctions } from '../../functions/domain/mapping/expression-functions.ts';
import { parseExpression, printExpression } from '../../functions/domain/mapping/expression.ts';
import { MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_VALUE_CHARS } from '../../functions/domain/mapping/limits.ts';
import { parseAndEvaluate } from '../../functions/domain/mapping/parse-expression-response.ts';
import type { AttributeMappingSource } from '../../functions/domain/mapping/schema.ts';
import { loadRegexEngine } from '../../functions/domain/mapping/tenant-regex.ts';

// The engine is loaded on first need (tenant-regex.ts); these tests compile patterns directly.
beforeAll(() => loadRegexEngine());

const attribute = (name: string): AttributeMappingSource => ({ type: 'Attribute', name, expression: `[${name}]`, parameters: [] });

describe('parseExpression', () => {
  it('parses a function over an attribute as Graph serialises it', () => {
    expect(parseExpression('Not([IsSoftDeleted])')).toEqual({
      type: 'Function',
      name: 'Not',
      expression: 'Not([IsSoftDeleted])',
      parameters: [{ key: 'source', value: attribute('IsSoftDeleted') }],
    });
  });

  it.each([
    ['"1"', { type: 'Constant', name: '1', expression: '"1"', parameters: [] }],
    ['"say \\"hi\\" \\\\ bye"', { type: 'Constant', name: 'say "hi" \\ bye', expression: '"say \\"hi\\" \\\\ bye"', parameters: [] }],
    ['  [passwordProfile.password]  ', { type: 'Attribute', name: 'passwordProfile.password', expression: '[passwordProfile.password]', parameters: [] }],
    ['42', { type: 'Constant', name: '42', expression: '42', parameters: [] }],
  ])('parses the operand %s', (text, expected) => {
    expect(parseExpression(text)).toEqual(expected);
  });

  it('binds blank optional arguments by leaving them out', () => {
    const parsed = parseExpression('Replace([x], , "a+", , "b", , )');
    expect(parsed.parameters.map((parameter) => [parameter.key, parameter.value.name])).toEqual([
      ['source', 'x'],
      ['regexPattern', 'a+'],
      ['replacementValue', 'b'],
    ]);
  });

  it.each([
    ['Switch([c], "none", "US", "United States", "FR", "France")', ['source', 'defaultValue', 'key', 'value', 'key', 'value']],
    ['Switch([c], , "US", "United States")', ['source', 'key', 'value']],
    ['Join(" ", [givenName], [surname], [x])', ['separator', 'source', 'source', 'source']],
    ['Mid([userPrincipalName], 1, 8)', ['source', 'start', 'length']],
    ['IIF([country]="US", [a], [b])', ['condition', 'valueIfTrue', 'valueIfFalse']],
  ])('names the arguments of %s', (text, keys) => {
    expect(parseExpression(text).parameters.map((parameter) => parameter.key)).toEqual(keys);
  });

  it('parses a comparison into an operator source with left and right', () => {
    const condition = parseExpression('IIF([country] <> "US", "x", "y")').parameters[0]?.value;
    expect(condition).toMatchObject({ type: 'Function', name: '<>', expression: '[country] <> "US"' });
    expect(condition?.parameters.map((parameter) => parameter.value.name)).toEqual(['country', 'US']);
  });

  it.each([
    ['', /end of expression/],
    ['[mail', /Missing "\]"/],
    ['[]', /Empty attribute name/],
    ['"open', /Unterminated/],
    ['Not([a]', /end of expression/],
    ['Not([a]]', /expected "," or "\)"/],
    ['not([a])', /did you mean Not/],
    ['Frobnicate([a])', /Unknown function "Frobnicate"/],
    ['Not', /end of expression/],
    ['Not [a]', /Expected "\("/],
    ['Not([a], [b])', /at most 1 arguments/],
    ['Mid([a], , 2)', /missing its required argument start/],
    ['Switch([a], , "k")', /groups of \(key, value\)/],
    ['Join(" ")', /at least one source/],
    ['Join(" ", [a], , [b])', /source cannot be left blank/],
    ['[a] [b]', /Unexpected "\["/],
    ['@', /Unexpected "@"/],
    [`"${'x'.repeat(10_001)}"`, /at most 10000 characters/],
  ])('rejects %j', (text, message) => {
    expect(() => parseExpression(text)).toThrow(ExpressionError);
    expect(() => parseExpression(text)).toThrow(message);
  });
});

describe('printExpression', () => {
  it.each([
    ['Replace([x],,"a+",,"b",,)', 'Replace([x], , "a+", , "b")'],
    ['Switch( [a] ,, "k" , "v" )', 'Switch([a], , "k", "v")'],
    ['IIF([a]="1",[b],"\\"q\\"")', 'IIF([a]="1", [b], "\\"q\\"")'],
    ['ToLower([a])', 'ToLower([a])'],
  ])('prints %s canonically', (text, printed) => {
    expect(printExpression(parseExpression(text))).toBe(printed);
  });

  const withoutExpressions = (source: AttributeMappingSource): unknown => ({
    type: source.type,
    name: source.name,
    parameters: source.parameters.map((parameter) => ({ key: parameter.key, value: withoutExpressions(parameter.value) })),
  });

  const leaf = fc.oneof(
    fc.string({ maxLength: 12 }).map((name): AttributeMappingSource => ({ type: 'Constant', name, expression: null, parameters: [] })),
    fc
      .stringMatching(/^[A-Za-z][\w.:-]{0,15}$/)
      .map((name): AttributeMappingSource => ({ type: 'Attribute', name, expression: null, parameters: [] })),
  );
  const pattern = fc
    .constantFrom('a+', '^(?<user>[^@]+)@', '[0-9]{3}', '\\.', '')
    .map((name): AttributeMappingSource => ({ type: 'Constant', name, expression: null, parameters: [] }));
  const fn = (name: string, keys: string[], args: AttributeMappingSource[]): AttributeMappingSource => ({
    type: 'Function',
    name,
    expression: null,
    parameters: keys.map((key, index) => ({ key, value: args[index] as AttributeMappingSource })),
  });
  const { source } = fc.letrec<{ source: AttributeMappingSource; call: AttributeMappingSource }>((tie) => ({
    source: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('call')),
    call: fc.oneof(
      fc.tuple(tie('source')).map((args) => fn('ToLower', ['source'], args)),
      fc.tuple(tie('source'), tie('source')).map((args) => fn('Append', ['source', 'suffix'], args)),
      fc.array(tie('source'), { minLength: 1, maxLength: 3 }).map((args) => fn('Coalesce', args.map(() => 'source'), args)),
      fc
        .tuple(tie('source'), tie('source'), tie('source'))
        .map((args) => fn('Switch', ['source', 'key', 'value'], args)),
      // A constant regexPattern must be one the engine runs (parseExpression refuses others); any other source may be.
      fc
        .tuple(tie('source'), fc.oneof(pattern, tie('call')))
        .map((args) => fn('Replace', ['source', 'regexPattern'], args)),
      fc.tuple(leaf, leaf, tie('source'), tie('source')).map(([left, right, yes, no]) =>
        fn('IIF', ['condition', 'valueIfTrue', 'valueIfFalse'], [fn('=', ['left', 'right'], [left, right]), yes, no]),
      ),
    ),
  }));

  it('round-trips: parse(print(x)) is x, with each expression its canonical text', () => {
    fc.assert(
      fc.property(source, (x) => {
        const text = printExpression(x);
        const parsed = parseExpression(text);
        expect(withoutExpressions(parsed)).toEqual(withoutExpressions(x));
        expect(parsed.expression).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('evaluate', () => {
  const user = {
    givenName: 'Zoë',
    surname: 'Lefèvre',
    userPrincipalName: 'zoe.lefevre@contoso.com',
    accountEnabled: false,
    IsSoftDeleted: false,
    proxyAddresses: ['SMTP:zoe@contoso.com', 'smtp:zl@contoso.com', 'SMTP:zoe@contoso.com'],
    employeeId: 12345,
    manager: { id: 'm-1' },
    blank: '',
    country: 'FR',
  };

  it.each<[string, unknown]>([
    ['[givenName]', 'Zoë'],
    ['[missing]', null],
    ['[employeeId]', '12345'],
    ['[manager]', 'm-1'],
    ['[accountEnabled]', false],
    ['"const"', 'const'],
    ['Not([accountEnabled])', true],
    ['Not("False")', true],
    ['Not([missing])', null],
    ['Append([givenName], "!")', 'Zoë!'],
    ['Append([missing], "!")', null],
    ['ToLower([userPrincipalName])', 'zoe.lefevre@contoso.com'],
    ['ToUpper([givenName])', 'ZOË'],
    ['ToLower([proxyAddresses])', ['smtp:zoe@contoso.com', 'smtp:zl@contoso.com', 'smtp:zoe@contoso.com']],
    ['Join(" ", [givenName], [surname])', 'Zoë Lefèvre'],
    ['Join(" ", [givenName], [missing])', 'Zoë'],
    ['Join(",", [missing])', null],
    ['Join(";", [country], [proxyAddresses])', 'FR;SMTP:zoe@contoso.com;smtp:zl@contoso.com;SMTP:zoe@contoso.com'],
    ['Coalesce([missing], [blank], [givenName], "x")', 'Zoë'],
    ['Coalesce([missing], [blank])', null],
    ['CStr([accountEnabled])', 'False'],
    ['IIF([country]="FR", "France", "Elsewhere")', 'France'],
    ['IIF([country]<>"FR", "Elsewhere", "France")', 'France'],
    ['IIF([employeeId] > 9999, "big", "small")', 'big'],
    ['IIF([employeeId] < 100000, "small", "big")', 'small'],
    ['IIF([missing] >= "a", "yes", "no")', 'no'],
    ['IIF(IsPresent([mail]), [mail], [userPrincipalName])', 'zoe.lefevre@contoso.com'],
    ['IIF("True", [givenName], Mid([missing], "x", 1))', 'Zoë'],
    ['Switch([country], "?", "US", "United States", "FR", "France")', 'France'],
    ['Switch([country], "?", "US", "United States")', '?'],
    ['Switch([missing], "?", "US", "United States")', '?'],
    ['Switch([accountEnabled], , "True", "on", "False", "off")', 'off'],
    ['Switch(Not([IsSoftDeleted]), "False", "True", [accountEnabled])', false],
    ['IsNull([missing])', true],
    ['IsNull([blank])', false],
    ['IsNullOrEmpty([blank])', true],
    ['IsPresent([givenName])', true],
    ['IsString([givenName])', true],
    ['IsString([accountEnabled])', false],
    ['Item([proxyAddresses], 2)', 'smtp:zl@contoso.com'],
    ['Item([proxyAddresses], 9)', null],
    ['Left([userPrincipalName], 3)', 'zoe'],
    ['Mid([userPrincipalName], 5, 7)', 'lefevre'],
    ['NormalizeDiacritics([surname])', 'Lefevre'],
    ['RemoveDuplicates([proxyAddresses])', ['SMTP:zoe@contoso.com', 'smtp:zl@contoso.com']],
    ['Replace([userPrincipalName], "@contoso.com", , , "@fabrikam.com", , )', 'zoe.lefevre@fabrikam.com'],
    ['Replace([userPrincipalName], , "[aeiou]", , "_", , )', 'z__.l_f_vr_@c_nt_s_.c_m'],
    ['Replace([userPrincipalName], , "^(?<user>[^@]+)@", "user", "x", , )', 'x@contoso.com'],
    ['Replace([givenName], "{x}", , , , , "<{x}>")', '<Zoë>'],
    ['Replace([missing], "a", , , "b", , )', null],
    ['Split([userPrincipalName], "@")', ['zoe.lefevre', 'contoso.com']],
    ['StripSpaces("a b  c")', 'abc'],
    ['Word("one,two;three", 3, ",;")', 'three'],
    ['Word("one two", 5, " ")', null],
    ['Word("a-b]c^d", 3, "-]^")', 'c'],
    ['IgnoreFlowIfNullOrEmpty([blank])', null],
    ['IgnoreFlowIfNullOrEmpty([givenName])', 'Zoë'],
    ['ConvertToBase64("Hi")', 'SABpAA=='],
  ])('%s → %j', (text, expected) => {
    expect(evaluate(parseExpression(text), user)).toEqual(expected);
  });

  it.each([
    ['Not([givenName])', /Not expects "True" or "False"/],
    ['IIF([missing], "a", "b")', /condition evaluated to null/],
    ['Mid([givenName], "one", 2)', /start must be an integer/],
    ['Replace([givenName], , "(", , "x", , )', /invalid regexPattern/],
  ])('%s fails with an ExpressionError', (text, message) => {
    expect(() => evaluate(parseExpression(text), user)).toThrow(ExpressionError);
    expect(() => evaluate(parseExpression(text), user)).toThrow(message);
  });

  it('refuses a function it does not know (e.g. from a schema PUT by a client)', () => {
    const source: AttributeMappingSource = { type: 'Function', name: 'Guid', expression: 'Guid()', parameters: [] };
    expect(() => evaluate(source, {})).toThrow(/Unknown function "Guid"/);
  });
});

describe('listFunctions', () => {
  it('describes every supported function with its parameters in call order', () => {
    const functions = listFunctions();
    const names = functions.map((fn) => fn.name);
    expect(names).toEqual([...names].sort((a, b) => a.localeCompare(b)));
    expect(names).toEqual(expect.arrayContaining(['Not', 'Switch', 'Join', 'Append', 'ToLower', 'ToUpper', 'Coalesce', 'IIF']));
    expect(functions.find((fn) => fn.name === 'Switch')?.parameters).toEqual([
      { name: 'source', type: 'String', required: true, allowMultipleOccurrences: false },
      { name: 'defaultValue', type: 'String', required: false, allowMultipleOccurrences: false },
      { name: 'key', type: 'String', required: true, allowMultipleOccurrences: true },
      { name: 'value', type: 'String', required: true, allowMultipleOccurrences: true },
    ]);
  });
});

describe('limits of expressions', () => {
  const nested = (levels: number) => `${'ToLower('.repeat(levels - 1)}[mail]${')'.repeat(levels - 1)}`;

  it(`parses ${MAX_EXPRESSION_DEPTH} levels and refuses one more, naming the limit`, () => {
    expect(parseExpression(nested(MAX_EXPRESSION_DEPTH)).type).toBe('Function');
    expect(() => parseExpression(nested(MAX_EXPRESSION_DEPTH + 1))).toThrow(UnsupportedExpressionError);
    expect(() => parseExpression(nested(MAX_EXPRESSION_DEPTH + 1))).toThrow(/at most 32 levels/);
  });

  it('refuses an expression nested 1,500 levels before it can overflow the stack', () => {
    const text = `${'Not('.repeat(1_500)}"True"${')'.repeat(1_500)}`;
    expect(() => parseExpression(text)).toThrow(/at most 32 levels/);
  });

  it('counts a comparison as a level', () => {
    const calls = MAX_EXPRESSION_DEPTH - 1;
    expect(parseExpression(`${'Not('.repeat(calls)}[a]${')'.repeat(calls)}`).type).toBe('Function');
    expect(() => parseExpression(`${'Not('.repeat(calls)}[a]="b"${')'.repeat(calls)}`)).toThrow(/at most 32 levels/);
  });

  it('refuses an expression whose parsed form would be far larger than its text', () => {
    const text = `${'ToLower('.repeat(30)}"${'x'.repeat(5_000)}"${')'.repeat(30)}`;
    expect(() => parseExpression(text)).toThrow(/parsed expression would have \d+ characters/);
  });

  it('refuses at parse time a constant regexPattern the engine cannot run, naming why', () => {
    expect(() => parseExpression('Replace([mail], , "(a)\\\\1", , "x", , )')).toThrow(UnsupportedExpressionError);
    expect(() => parseExpression('Replace([mail], , "(?=a)", , "x", , )')).toThrow(/Replace: invalid regexPattern "\(\?=a\)": it uses a lookahead/);
    expect(() => parseAndEvaluate('Replace([mail], , "(?<=a)b", , "x", , )', null)).toThrow(/lookbehind/);
  });

  it('runs a ReDoS pattern in Replace in linear time', () => {
    const redos = 'Replace([name], , "^(a|a)*$", , "x", , )';
    expect(evaluate(parseExpression(redos), { name: `${'a'.repeat(28)}!` })).toBe(`${'a'.repeat(28)}!`);
    expect(evaluate(parseExpression(redos), { name: 'a'.repeat(28) })).toBe('x');
  });

  it('inserts the replacement as it is: $1, ${name} and $& are text', () => {
    expect(evaluate(parseExpression('Replace("ab", , "(?<n>a)", , "[$1|${n}|$&]", , )'), {})).toBe('[$1|${n}|$&]b');
    expect(evaluate(parseExpression('Replace("ab", , "(?<n>a)", "n", "$1", , )'), {})).toBe('$1b');
  });

  it.each([
    ['Replace([x], "a", , , [long], , )', /Replace: the value would have \d+ characters; an expression value may have at most 65536/],
    ['Replace([x], , "", , [long], , )', /Replace: the value would have/],
    ['Replace([x], "{x}", , , , , [template])', /Replace: the value would have/],
    ['Join([long], [x], [x], [x], [x], [x], [x], [x], [x])', /Join: the value would have/],
    ['Append([many], [long])', /Append: the value would have/],
  ])('refuses to build a value over the limit: %s', (text, message) => {
    const attributes = { x: 'a'.repeat(100), long: 'b'.repeat(10_000), template: '{x}'.repeat(1_000), many: Array.from({ length: 100 }, () => 'c') };
    expect(() => evaluate(parseExpression(text), attributes)).toThrow(ExpressionError);
    expect(() => evaluate(parseExpression(text), attributes)).toThrow(message);
    expect(MAX_EXPRESSION_VALUE_CHARS).toBe(65_536);
  });

  it('reads a test value of arrays nested thousands deep without recursing', () => {
    let deep: unknown = ['x'];
    for (let level = 0; level < 20_000; level += 1) deep = [deep, 'y'];
    expect(evaluate(parseExpression('Join(",", [v])'), { v: deep })).toBe('y');
  });
});
