import { ExpressionError } from './expression-error.ts';
import { type ExpressionValue, type FunctionArguments, checkValueChars, findFunction, textOf, valueChars } from './expression-functions.ts';
import { type ComparisonOperator, isComparisonOperator } from './expression.ts';
import type { AttributeMappingSource } from './schema.ts';
import { tenantRegex } from './tenant-regex.ts';

/**
 * Evaluates a mapping source against one object's attributes (looked up by exact name). Attribute values become
 * expression values: strings and booleans as they are, numbers as text, arrays as string arrays (empty = null),
 * references (`{ id }`) as their id.
 * @throws ExpressionError for an unknown function or an argument a function cannot take.
 */
export function evaluate(source: AttributeMappingSource, attributes: Readonly<Record<string, unknown>>): ExpressionValue {
  switch (source.type) {
    case 'Attribute':
      return expressionValueOf(attributes[source.name]);
    case 'Constant':
      return source.name;
    case 'Function':
      return call(source, attributes);
  }
}

function call(source: AttributeMappingSource, attributes: Readonly<Record<string, unknown>>): ExpressionValue {
  const cache = new Map<number, ExpressionValue>();
  const valueAt = (index: number): ExpressionValue => {
    if (!cache.has(index)) cache.set(index, evaluate(source.parameters[index]!.value, attributes));
    return cache.get(index) ?? null;
  };
  const indexesOf = (name: string): number[] =>
    source.parameters.flatMap((parameter, index) => (parameter.key.toLowerCase() === name.toLowerCase() ? [index] : []));
  const args: FunctionArguments = {
    one: (name) => {
      const [index] = indexesOf(name);
      return index === undefined ? undefined : valueAt(index);
    },
    all: (name) => indexesOf(name).map(valueAt),
    regex: tenantRegex,
  };
  if (isComparisonOperator(source.name)) return compare(source.name, args.one('left'), args.one('right'));
  const fn = findFunction(source.name);
  if (fn === undefined) throw new ExpressionError(`Unknown function "${source.name}"`);
  const value = fn.apply(args);
  checkValueChars(source.name, valueChars(value));
  return value;
}

function comparable(value: ExpressionValue | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value[0] ?? null;
  return textOf(value);
}

/** Case-sensitive text comparison, numeric when both sides are numbers; a null side is only equal to null. */
function compare(operator: ComparisonOperator, leftValue: ExpressionValue | undefined, rightValue: ExpressionValue | undefined): boolean {
  const left = comparable(leftValue);
  const right = comparable(rightValue);
  if (operator === '=') return left === right;
  if (operator === '<>') return left !== right;
  if (left === null || right === null) return false;
  const numeric = left.trim() !== '' && right.trim() !== '' && Number.isFinite(Number(left)) && Number.isFinite(Number(right));
  const order = numeric ? Number(left) - Number(right) : left < right ? -1 : left > right ? 1 : 0;
  switch (operator) {
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
  }
}

/** A directory attribute value as an expression value; arrays inside an array (no directory has them) are left out. */
export function expressionValueOf(raw: unknown): ExpressionValue {
  if (!Array.isArray(raw)) return singleValueOf(raw);
  // Not recursive: a test object's value may nest arrays thousands deep.
  const values = raw.flatMap((element) => {
    const value = Array.isArray(element) ? null : singleValueOf(element);
    return value === null ? [] : [textOf(value)];
  });
  return values.length === 0 ? null : values;
}

function singleValueOf(raw: unknown): string | boolean | null {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  if (typeof raw === 'object' && typeof (raw as { id?: unknown }).id === 'string') return (raw as { id: string }).id;
  return null;
}
