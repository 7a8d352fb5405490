import { ExpressionError } from './expression-error.ts';
import { MAX_EXPRESSION_VALUE_CHARS } from './limits.ts';
import { patternMessage, regexProblem, type TenantRegex } from './tenant-regex.ts';
import type { AttributeMappingFunctionSchema, AttributeMappingParameterSchema, AttributeMappingSource, AttributeType } from './schema.ts';

/**
 * A value inside an expression. Booleans keep Graph's convention: they compare and print as "True"/"False",
 * and functions that take a condition accept either a boolean or those strings.
 */
export type ExpressionValue = string | string[] | boolean | null;

/** The arguments of one call, evaluated on first use so an untaken IIF/Switch branch cannot fail the call. */
export interface FunctionArguments {
  /** The first argument passed for `name`; undefined when it was left blank. */
  one(name: string): ExpressionValue | undefined;
  /** Every argument passed for a repeating parameter, in order. */
  all(name: string): ExpressionValue[];
  /**
   * tenantRegex (tenant-regex.ts), handed in by the evaluator: the parser reads this function table too, and what
   * only parses expressions (every API function's template schema) then does not load the regular expression engine.
   */
  regex(pattern: string, context: string): TenantRegex;
}

export interface ExpressionFunction {
  name: string;
  /** Positional order. Parameters that allow multiple occurrences come last and repeat as a group. */
  parameters: AttributeMappingParameterSchema[];
  apply(args: FunctionArguments): ExpressionValue;
}

function param(
  name: string,
  options: { required?: boolean; type?: AttributeType; multiple?: boolean } = {},
): AttributeMappingParameterSchema {
  return {
    name,
    type: options.type ?? 'String',
    required: options.required ?? true,
    allowMultipleOccurrences: options.multiple ?? false,
  };
}

/** Graph's text form of a single value. */
export function textOf(value: string | boolean): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return value;
}

/** A scalar argument as text: the first element of a multi-valued one, null when absent. */
function scalar(value: ExpressionValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value[0] ?? null;
  return textOf(value);
}

/** Characters of a value as MAX_EXPRESSION_VALUE_CHARS counts them: its texts, plus one per value of a multi-valued one. */
export function valueChars(value: ExpressionValue): number {
  if (value === null) return 0;
  if (Array.isArray(value)) return value.reduce((total, text) => total + text.length + 1, 0);
  return textOf(value).length;
}

/** @throws ExpressionError when `functionName` would produce a value of more than MAX_EXPRESSION_VALUE_CHARS. */
export function checkValueChars(functionName: string, chars: number): void {
  if (chars > MAX_EXPRESSION_VALUE_CHARS) {
    throw new ExpressionError(`${functionName}: the value would have ${chars} characters; an expression value may have at most ${MAX_EXPRESSION_VALUE_CHARS}`);
  }
}

/** Applies a string function to a value, element by element when it is multi-valued, stopping once the result is too long. */
function eachText(functionName: string, value: ExpressionValue | undefined, apply: (text: string) => string): ExpressionValue {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) return apply(textOf(value));
  let chars = 0;
  return value.map((text) => {
    const result = apply(text);
    chars += result.length + 1;
    checkValueChars(functionName, chars);
    return result;
  });
}

/** "True"/"False" (any case) or a boolean; anything else is an error. */
export function booleanOf(value: ExpressionValue | undefined, functionName: string): boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value;
  const text = scalar(value);
  if (text?.toLowerCase() === 'true') return true;
  if (text?.toLowerCase() === 'false') return false;
  throw new ExpressionError(`${functionName} expects "True" or "False", got "${text}"`);
}

function integerOf(value: ExpressionValue | undefined, functionName: string, parameter: string): number {
  const text = scalar(value);
  if (text === null || !/^\s*-?\d+\s*$/.test(text)) {
    throw new ExpressionError(`${functionName}: ${parameter} must be an integer, got ${text === null ? 'null' : `"${text}"`}`);
  }
  return Number.parseInt(text, 10);
}

function isNullOrEmpty(value: ExpressionValue | undefined): boolean {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

const INVALID_PATTERN = 'Replace: invalid regexPattern';

/**
 * Why each constant regexPattern of Replace calls in `source` cannot be used, one message each: refused when an
 * expression is parsed or a schema saved, rather than failing object by object. Patterns read from attributes
 * are only known when evaluated. `source` must be of bounded depth (sourceDepth).
 */
export function constantRegexProblems(source: AttributeMappingSource): string[] {
  const own =
    source.type === 'Function' && source.name === 'Replace'
      ? source.parameters.flatMap(({ key, value }) => {
          if (key.toLowerCase() !== 'regexpattern' || value.type !== 'Constant') return [];
          const problem = regexProblem(value.name);
          return problem === null ? [] : [patternMessage(INVALID_PATTERN, value.name, problem)];
        })
      : [];
  return [...own, ...source.parameters.flatMap((parameter) => constantRegexProblems(parameter.value))];
}

/** Whether evaluating `source` may compile a regular expression: it has a Replace call given a regexPattern. */
export function sourceUsesRegex(source: AttributeMappingSource): boolean {
  const own = source.type === 'Function' && source.name === 'Replace' && source.parameters.some(({ key }) => key.toLowerCase() === 'regexpattern');
  return own || source.parameters.some((parameter) => sourceUsesRegex(parameter.value));
}

/** Replaces every match of `pattern`, or only the named group inside each match when `groupName` is given. */
function replaceMatches(regex: TenantRegex, text: string, groupName: string | null, replacement: string): string {
  // The replacement is inserted as it is: `$1` and `${name}` stay literal text, as they always have here.
  let result = '';
  let cursor = 0;
  for (const [start, end] of regex.spans(text, groupName)) {
    result += text.slice(cursor, start) + replacement;
    cursor = end;
    checkValueChars('Replace', result.length + text.length - cursor);
  }
  return result + text.slice(cursor);
}

/** `text` with every `search` replaced by `replacement`, refused before it is built when it would be too long. */
function replaceText(text: string, search: string, replacement: string): string {
  const parts = text.split(search);
  checkValueChars('Replace', text.length + (parts.length - 1) * (replacement.length - search.length));
  return parts.join(replacement);
}

function replace(args: FunctionArguments): ExpressionValue {
  const oldValue = scalar(args.one('oldValue'));
  const pattern = scalar(args.one('regexPattern'));
  const groupName = scalar(args.one('regexGroupName'));
  const replacement = scalar(args.one('replacementValue')) ?? scalar(args.one('replacementAttributeName'));
  const template = scalar(args.one('template'));
  const source = args.one('source');
  if (template !== null && oldValue !== null) {
    return eachText('Replace', source, (text) => replaceText(template, oldValue, text));
  }
  if (replacement === null) return source ?? null;
  if (pattern !== null) {
    return eachText('Replace', source, (text) => replaceMatches(args.regex(pattern, INVALID_PATTERN), text, groupName, replacement));
  }
  if (oldValue !== null && oldValue !== '') return eachText('Replace', source, (text) => replaceText(text, oldValue, replacement));
  return source ?? null;
}

const functions: ExpressionFunction[] = [
  {
    name: 'Append',
    parameters: [param('source'), param('suffix')],
    apply: (args) => {
      const suffix = scalar(args.one('suffix')) ?? '';
      return eachText('Append', args.one('source'), (text) => text + suffix);
    },
  },
  {
    name: 'Coalesce',
    parameters: [param('source', { multiple: true })],
    apply: (args) => args.all('source').find((value) => !isNullOrEmpty(value)) ?? null,
  },
  {
    name: 'ConvertToBase64',
    parameters: [param('source')],
    apply: (args) => eachText('ConvertToBase64', args.one('source'), (text) => Buffer.from(text, 'utf16le').toString('base64')),
  },
  {
    name: 'CStr',
    parameters: [param('value')],
    apply: (args) => eachText('CStr', args.one('value'), (text) => text),
  },
  {
    name: 'IgnoreFlowIfNullOrEmpty',
    parameters: [param('expression')],
    apply: (args) => {
      const value = args.one('expression');
      return isNullOrEmpty(value) ? null : (value ?? null);
    },
  },
  {
    name: 'IIF',
    parameters: [param('condition', { type: 'Boolean' }), param('valueIfTrue'), param('valueIfFalse')],
    apply: (args) => {
      const condition = booleanOf(args.one('condition'), 'IIF');
      if (condition === null) throw new ExpressionError('IIF: the condition evaluated to null');
      return (condition ? args.one('valueIfTrue') : args.one('valueIfFalse')) ?? null;
    },
  },
  {
    name: 'IsNull',
    parameters: [param('expression')],
    apply: (args) => {
      const value = args.one('expression');
      return value === undefined || value === null;
    },
  },
  {
    name: 'IsNullOrEmpty',
    parameters: [param('expression')],
    apply: (args) => isNullOrEmpty(args.one('expression')),
  },
  {
    name: 'IsPresent',
    parameters: [param('expression')],
    apply: (args) => !isNullOrEmpty(args.one('expression')),
  },
  {
    name: 'IsString',
    parameters: [param('expression')],
    apply: (args) => typeof args.one('expression') === 'string',
  },
  {
    name: 'Item',
    parameters: [param('attribute'), param('index', { type: 'Integer' })],
    apply: (args) => {
      const index = integerOf(args.one('index'), 'Item', 'index');
      const value = args.one('attribute');
      if (value === undefined || value === null) return null;
      const values = Array.isArray(value) ? value : [textOf(value)];
      return values[index - 1] ?? null;
    },
  },
  {
    name: 'Join',
    parameters: [param('separator'), param('source', { multiple: true })],
    apply: (args) => {
      const parts = args
        .all('source')
        .flatMap((value) => (value === null ? [] : Array.isArray(value) ? value : [textOf(value)]));
      if (parts.length === 0) return null;
      const separator = scalar(args.one('separator')) ?? '';
      checkValueChars('Join', parts.reduce((total, part) => total + part.length + separator.length, 0));
      return parts.join(separator);
    },
  },
  {
    name: 'Left',
    parameters: [param('String'), param('NumChars', { type: 'Integer' })],
    apply: (args) => {
      const count = Math.max(0, integerOf(args.one('NumChars'), 'Left', 'NumChars'));
      return eachText('Left', args.one('String'), (text) => text.slice(0, count));
    },
  },
  {
    name: 'Mid',
    parameters: [param('source'), param('start', { type: 'Integer' }), param('length', { type: 'Integer' })],
    apply: (args) => {
      const start = Math.max(1, integerOf(args.one('start'), 'Mid', 'start'));
      const length = Math.max(0, integerOf(args.one('length'), 'Mid', 'length'));
      return eachText('Mid', args.one('source'), (text) => text.slice(start - 1, start - 1 + length));
    },
  },
  {
    name: 'NormalizeDiacritics',
    parameters: [param('source')],
    apply: (args) => eachText('NormalizeDiacritics', args.one('source'), (text) => text.normalize('NFD').replace(/\p{M}/gu, '')),
  },
  {
    name: 'Not',
    parameters: [param('source', { type: 'Boolean' })],
    apply: (args) => {
      const value = booleanOf(args.one('source'), 'Not');
      return value === null ? null : !value;
    },
  },
  {
    name: 'RemoveDuplicates',
    parameters: [param('attribute')],
    apply: (args) => {
      const value = args.one('attribute') ?? null;
      return Array.isArray(value) ? [...new Set(value)] : value;
    },
  },
  {
    name: 'Replace',
    parameters: [
      param('source'),
      param('oldValue', { required: false }),
      param('regexPattern', { required: false }),
      param('regexGroupName', { required: false }),
      param('replacementValue', { required: false }),
      param('replacementAttributeName', { required: false }),
      param('template', { required: false }),
    ],
    apply: replace,
  },
  {
    name: 'Split',
    parameters: [param('source'), param('delimiter')],
    apply: (args) => {
      const source = args.one('source');
      const delimiter = scalar(args.one('delimiter'));
      if (source === undefined || source === null) return null;
      const values = Array.isArray(source) ? source : [textOf(source)];
      return delimiter === null || delimiter === '' ? values : values.flatMap((text) => text.split(delimiter));
    },
  },
  {
    name: 'StripSpaces',
    parameters: [param('source')],
    apply: (args) => eachText('StripSpaces', args.one('source'), (text) => text.replaceAll(' ', '')),
  },
  {
    name: 'Switch',
    parameters: [
      param('source'),
      param('defaultValue', { required: false }),
      param('key', { multiple: true }),
      param('value', { multiple: true }),
    ],
    apply: (args) => {
      const source = scalar(args.one('source'));
      const fallback = args.one('defaultValue') ?? null;
      if (source === null) return fallback;
      const values = args.all('value');
      const index = args.all('key').findIndex((key) => scalar(key) === source);
      return index === -1 ? fallback : (values[index] ?? null);
    },
  },
  {
    name: 'ToLower',
    parameters: [param('source'), param('culture', { required: false })],
    apply: (args) => eachText('ToLower', args.one('source'), (text) => text.toLowerCase()),
  },
  {
    name: 'ToUpper',
    parameters: [param('source'), param('culture', { required: false })],
    apply: (args) => eachText('ToUpper', args.one('source'), (text) => text.toUpperCase()),
  },
  {
    name: 'Word',
    parameters: [param('String'), param('WordNumber', { type: 'Integer' }), param('Delimiters')],
    apply: (args) => {
      const number = integerOf(args.one('WordNumber'), 'Word', 'WordNumber');
      const delimiters = scalar(args.one('Delimiters')) ?? ' ';
      const text = scalar(args.one('String'));
      if (text === null) return null;
      // Split by hand rather than through a RegExp built from tenant text.
      const delimiter = new Set(delimiters);
      const words: string[] = [];
      let word = '';
      for (const char of text) {
        if (!delimiter.has(char)) {
          word += char;
        } else {
          if (word !== '') words.push(word);
          word = '';
        }
      }
      if (word !== '') words.push(word);
      return words[number - 1] ?? null;
    },
  },
];

const byName = new Map(functions.map((fn) => [fn.name, fn]));

/** The supported function of that exact (case-sensitive) name. */
export function findFunction(name: string): ExpressionFunction | undefined {
  return byName.get(name);
}

/** The supported functions as Graph's attributeMappingFunctionSchema, sorted by name. */
export function listFunctions(): AttributeMappingFunctionSchema[] {
  return functions
    .map((fn) => ({ id: fn.name, name: fn.name, parameters: fn.parameters.map((parameter) => ({ ...parameter })) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
