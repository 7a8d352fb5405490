import { ExpressionError, UnsupportedExpressionError } from './expression-error.ts';
import { type ExpressionFunction, constantRegexProblems, findFunction, listFunctions } from './expression-functions.ts';
import { MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, MAX_PARSED_EXPRESSION_CHARS } from './limits.ts';
import { type AttributeMappingSource, sourceDepth, TOO_DEEP } from './schema.ts';

/**
 * IIF conditions compare with these. Graph does not document how it serialises a comparison, so it is a Function
 * source named after the operator with `left` and `right` parameters.
 */
export const COMPARISON_OPERATORS = ['<>', '>=', '<=', '=', '>', '<'] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

export function isComparisonOperator(name: string): name is ComparisonOperator {
  return (COMPARISON_OPERATORS as readonly string[]).includes(name);
}

/**
 * Parses Entra's VBA-like mapping expression (`[attr]`, `"const"` with backslash escapes, numbers,
 * `Func(a, , b)` with blank optional arguments, one comparison such as `[country]="US"`) into Graph's
 * attributeMappingSource. Function names are case-sensitive; arguments are bound to the function's parameter
 * names and blank optional ones are left out, as Graph does. Each node's `expression` is its text.
 * @throws UnsupportedExpressionError beyond a limit of limits.ts (length, depth, parsed size) or for a constant
 *   regexPattern the regular expression engine cannot run.
 * @throws ExpressionError on any other syntax error, unknown function or wrong number of arguments.
 */
export function parseExpression(text: string): AttributeMappingSource {
  const source = parseExpressionSyntax(text);
  const [regexProblem] = constantRegexProblems(source);
  if (regexProblem !== undefined) throw new UnsupportedExpressionError(regexProblem);
  return source;
}

/**
 * parseExpression but for its check of constant regexPatterns, for the expressions of this service's own templates
 * (checkSchema passes them, see its tests): what only reads templates then does not load the regular expression
 * engine.
 */
export function parseExpressionSyntax(text: string): AttributeMappingSource {
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw new UnsupportedExpressionError(`An expression may be at most ${MAX_EXPRESSION_LENGTH} characters long`);
  }
  const parser = new Parser(text);
  const source = parser.expression(0);
  parser.skipSpaces();
  if (!parser.atEnd()) throw parser.error(`Unexpected "${parser.peek()}"`);
  // The parser bounds function nesting as it recurses; comparisons add levels, counted here.
  if (sourceDepth(source) > MAX_EXPRESSION_DEPTH) throw new UnsupportedExpressionError(TOO_DEEP);
  const parsedChars = JSON.stringify(source).length;
  if (parsedChars > MAX_PARSED_EXPRESSION_CHARS) {
    throw new UnsupportedExpressionError(
      `The parsed expression would have ${parsedChars} characters (each function repeats the text of its arguments); ` +
        `at most ${MAX_PARSED_EXPRESSION_CHARS} are allowed: nest less or shorten long constants`,
    );
  }
  return source;
}

/** The canonical text of a source: `parseExpression(printExpression(x))` gives back `x`. */
export function printExpression(source: AttributeMappingSource): string {
  switch (source.type) {
    case 'Attribute':
      return `[${source.name}]`;
    case 'Constant':
      return `"${source.name.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
    case 'Function': {
      if (isComparisonOperator(source.name)) {
        const [left, right] = source.parameters;
        if (left === undefined || right === undefined) {
          throw new ExpressionError(`The comparison ${source.name} needs a left and a right operand`);
        }
        return `${printExpression(left.value)}${source.name}${printExpression(right.value)}`;
      }
      return `${source.name}(${positionalArguments(source).join(', ')})`;
    }
  }
}

/** A source's arguments in call order, with blanks where optional parameters were left out. */
function positionalArguments(source: AttributeMappingSource): string[] {
  const printed = source.parameters.map((parameter) => printExpression(parameter.value));
  const fn = findFunction(source.name);
  const names = new Set(fn?.parameters.map((parameter) => parameter.name.toLowerCase()));
  if (fn === undefined || !source.parameters.every((parameter) => names.has(parameter.key.toLowerCase()))) {
    return printed;
  }
  const result: string[] = [];
  let next = 0;
  for (const fixed of fn.parameters.filter((parameter) => !parameter.allowMultipleOccurrences)) {
    if (source.parameters[next]?.key.toLowerCase() === fixed.name.toLowerCase()) {
      result.push(printed[next] ?? '');
      next += 1;
    } else {
      result.push('');
    }
  }
  result.push(...printed.slice(next));
  while (result.at(-1) === '') result.pop();
  return result;
}

class Parser {
  private position = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.position >= this.text.length;
  }

  peek(): string {
    return this.text[this.position] ?? '';
  }

  error(message: string): ExpressionError {
    return new ExpressionError(this.atEnd() ? 'Unexpected end of expression' : message, this.position);
  }

  skipSpaces(): void {
    while (/\s/.test(this.peek()) && !this.atEnd()) this.position += 1;
  }

  /** operand [comparison operand]; `calls` is how many function calls enclose it. */
  expression(calls: number): AttributeMappingSource {
    this.skipSpaces();
    const start = this.position;
    const left = this.operand(calls);
    this.skipSpaces();
    const operator = COMPARISON_OPERATORS.find((candidate) => this.text.startsWith(candidate, this.position));
    if (operator === undefined) return left;
    this.position += operator.length;
    this.skipSpaces();
    const right = this.operand(calls);
    return {
      type: 'Function',
      name: operator,
      expression: this.text.slice(start, this.position),
      parameters: [
        { key: 'left', value: left },
        { key: 'right', value: right },
      ],
    };
  }

  private operand(calls: number): AttributeMappingSource {
    const char = this.peek();
    if (char === '[') return this.attribute();
    if (char === '"') return this.constant();
    if (/[-\d]/.test(char)) return this.number();
    if (/[A-Za-z_]/.test(char)) return this.call(calls + 1);
    throw this.error(`Unexpected "${char}"; expected [attribute], "constant", a number or a function call`);
  }

  private attribute(): AttributeMappingSource {
    const start = this.position;
    const end = this.text.indexOf(']', start + 1);
    if (end === -1) throw new ExpressionError('Missing "]" after attribute name', start);
    const name = this.text.slice(start + 1, end);
    if (name.trim() === '') throw new ExpressionError('Empty attribute name', start);
    this.position = end + 1;
    return { type: 'Attribute', name, expression: this.text.slice(start, this.position), parameters: [] };
  }

  private constant(): AttributeMappingSource {
    const start = this.position;
    let value = '';
    this.position += 1;
    for (;;) {
      if (this.atEnd()) throw new ExpressionError('Unterminated string constant', start);
      const char = this.text[this.position] as string;
      this.position += 1;
      if (char === '"') break;
      if (char === '\\') {
        if (this.atEnd()) throw new ExpressionError('Unterminated string constant', start);
        value += this.text[this.position];
        this.position += 1;
      } else {
        value += char;
      }
    }
    return { type: 'Constant', name: value, expression: this.text.slice(start, this.position), parameters: [] };
  }

  private number(): AttributeMappingSource {
    const match = /^-?\d+(\.\d+)?/.exec(this.text.slice(this.position));
    if (match === null) throw this.error(`Unexpected "${this.peek()}"; expected a number`);
    this.position += match[0].length;
    return { type: 'Constant', name: match[0], expression: match[0], parameters: [] };
  }

  /** `depth`: this call and the calls enclosing it. */
  private call(depth: number): AttributeMappingSource {
    const start = this.position;
    // Refused before recursing into the arguments: an expression nested 1,500 calls deep would overflow the stack.
    if (depth >= MAX_EXPRESSION_DEPTH) throw new UnsupportedExpressionError(TOO_DEEP, start);
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(start))?.[0] ?? '';
    this.position += name.length;
    this.skipSpaces();
    if (this.peek() !== '(') throw this.error(`Expected "(" after ${name}`);
    const fn = findFunction(name);
    if (fn === undefined) {
      const known = listFunctions().find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
      const hint = known === undefined ? '' : ` (names are case-sensitive: did you mean ${known.name}?)`;
      throw new ExpressionError(`Unknown function "${name}"${hint}`, start);
    }
    this.position += 1;
    const args = this.arguments(depth);
    return {
      type: 'Function',
      name,
      expression: this.text.slice(start, this.position),
      parameters: bindArguments(fn, args, start),
    };
  }

  /** Comma-separated arguments up to and including ")"; null marks a blank one. */
  private arguments(calls: number): Array<AttributeMappingSource | null> {
    const args: Array<AttributeMappingSource | null> = [];
    this.skipSpaces();
    if (this.peek() === ')') {
      this.position += 1;
      return args;
    }
    for (;;) {
      this.skipSpaces();
      args.push(this.peek() === ',' || this.peek() === ')' ? null : this.expression(calls));
      this.skipSpaces();
      const char = this.peek();
      this.position += 1;
      if (char === ')') return args;
      if (char !== ',') {
        this.position -= 1;
        throw this.error(`Unexpected "${char}"; expected "," or ")"`);
      }
    }
  }
}

/** Names positional arguments after the function's parameters; the repeating group cycles (Switch: key, value). */
function bindArguments(
  fn: ExpressionFunction,
  args: Array<AttributeMappingSource | null>,
  position: number,
): AttributeMappingSource['parameters'] {
  const fixed = fn.parameters.filter((parameter) => !parameter.allowMultipleOccurrences);
  const repeating = fn.parameters.filter((parameter) => parameter.allowMultipleOccurrences);
  if (repeating.length === 0 && args.length > fixed.length) {
    throw new ExpressionError(`${fn.name} takes at most ${fixed.length} arguments, got ${args.length}`, position);
  }
  const bound: AttributeMappingSource['parameters'] = [];
  fixed.forEach((parameter, index) => {
    const value = args[index];
    if (value !== null && value !== undefined) bound.push({ key: parameter.name, value });
    else if (parameter.required) {
      throw new ExpressionError(`${fn.name} is missing its required argument ${parameter.name}`, position);
    }
  });
  const rest = args.slice(fixed.length);
  if (repeating.length === 0) return bound;
  const group = repeating.map((parameter) => parameter.name).join(', ');
  if (rest.length === 0 && repeating.some((parameter) => parameter.required)) {
    throw new ExpressionError(`${fn.name} needs at least one ${group}`, position);
  }
  if (rest.length % repeating.length !== 0) {
    throw new ExpressionError(`${fn.name} takes its trailing arguments in groups of (${group})`, position);
  }
  rest.forEach((value, index) => {
    const parameter = repeating[index % repeating.length] as (typeof repeating)[number];
    if (value === null) throw new ExpressionError(`${fn.name}: ${parameter.name} cannot be left blank`, position);
    bound.push({ key: parameter.name, value });
  });
  return bound;
}
