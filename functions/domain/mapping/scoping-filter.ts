import * as z from 'zod/mini';
import { textOf } from './expression-functions.ts';
import { quoted, regexProblem, tenantRegex } from './tenant-regex.ts';
import type { Filter, FilterClause, FilterGroup } from './schema.ts';

/**
 * Graph's filterOperatorSchema: one operator a scoping clause may use, as `GET .../schema/filterOperators` lists it.
 * It is an entity in Graph's metadata, so typed clients (the Kiota SDK) read its name from `id`; `name` is what
 * Graph's documentation shows. Both carry the operator's name.
 */
export const filterOperatorSchemaSchema = z.object({
  id: z.string(),
  name: z.string(),
  arity: z.enum(['Binary', 'Unary']),
  multivaluedComparisonType: z.enum(['All', 'Any']),
  /** Every attribute type but DateTime, which no operator compares. */
  supportedAttributeTypes: z.array(z.enum(['String', 'Integer', 'Reference', 'Binary', 'Boolean'])),
});
export type FilterOperatorSchema = z.infer<typeof filterOperatorSchemaSchema>;

/** A source value reduced to one value (a primitive, or an object such as a reference); null when absent or empty. */
type Scalar = string | number | boolean | object;

/** What a binary operator's target values must be: any text, integers, or regular expressions (see tenant-regex.ts). */
type OperandKind = 'text' | 'integer' | 'regex';

type Operator =
  | { schema: FilterOperatorSchema; arity: 'Unary'; test(value: Scalar | null): boolean }
  | {
      schema: FilterOperatorSchema;
      arity: 'Binary';
      operand: OperandKind;
      negated: boolean;
      /** Whether the operator can compare this value at all (text for INCLUDES, an integer for GREATER_THAN). */
      applies(value: Scalar): boolean;
      /**
       * `regex` is tenantRegex, handed in where clauses are evaluated: the operator list alone (filterOperators)
       * then does not load the regular expression engine.
       */
      matches(value: Scalar, operand: string, regex: typeof tenantRegex): boolean;
    };

function unary(name: string, types: FilterOperatorSchema['supportedAttributeTypes'], test: (value: Scalar | null) => boolean): Operator {
  return { schema: { id: name, name, arity: 'Unary', multivaluedComparisonType: 'All', supportedAttributeTypes: types }, arity: 'Unary', test };
}

/** `negated` operators hold when the value is comparable and matches none of the target values. */
function binary(
  name: string,
  types: FilterOperatorSchema['supportedAttributeTypes'],
  operand: OperandKind,
  applies: (value: Scalar) => boolean,
  matches: (value: Scalar, operand: string, regex: typeof tenantRegex) => boolean,
  negated = false,
): Operator {
  const schema: FilterOperatorSchema = { id: name, name, arity: 'Binary', multivaluedComparisonType: 'All', supportedAttributeTypes: types };
  return { schema, arity: 'Binary', operand, negated, applies, matches };
}

function textOfScalar(value: Scalar): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return textOf(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  return null;
}

function booleanOfScalar(value: Scalar | null): boolean | null {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return null;
  const text = value.trim().toLowerCase();
  return text === 'true' ? true : text === 'false' ? false : null;
}

function integerOf(value: Scalar | string): bigint | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : null;
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return BigInt(value.trim());
  return null;
}

/** EQUALS is case-sensitive on text; a JSON boolean or number attribute compares by value ("true" equals `true`). */
function equals(value: Scalar, operand: string): boolean {
  if (typeof value === 'boolean') return booleanOfScalar(operand) === value;
  if (typeof value === 'number') return operand.trim() !== '' && Number(operand) === value;
  return textOfScalar(value) === operand;
}

const isPrimitive = (value: Scalar): boolean => typeof value !== 'object';
const hasText = (value: Scalar): boolean => textOfScalar(value) !== null;
const isInteger = (value: Scalar): boolean => integerOf(value) !== null;

function textTest(
  test: (text: string, operand: string, regex: typeof tenantRegex) => boolean,
): (value: Scalar, operand: string, regex: typeof tenantRegex) => boolean {
  return (value, operand, regex) => {
    const text = textOfScalar(value);
    return text !== null && test(text, operand, regex);
  };
}

const matchesRegex = textTest((text, operand, regex) => regex(operand, 'Scoping filter: invalid regular expression').test(text));

function integerTest(test: (value: bigint, operand: bigint) => boolean): (value: Scalar, operand: string) => boolean {
  return (value, operand) => {
    const left = integerOf(value);
    const right = integerOf(operand);
    return left !== null && right !== null && test(left, right);
  };
}

/** `&` holds when every bit of the mask is set in the value, as in Active Directory's bitwise-AND matching rule. */
const allBitsSet = (value: bigint, mask: bigint): boolean => (value & mask) === mask;

const ANY_TYPE: FilterOperatorSchema['supportedAttributeTypes'] = ['String', 'Integer', 'Boolean', 'Binary', 'Reference'];

// Spec §8 item 7: Graph confirms only the EQUALS token; the others follow the portal's names in Graph's
// underscore style, and the portal's own spellings are accepted through the name normalization below.
const operators: readonly Operator[] = [
  binary('EQUALS', ['String', 'Integer', 'Boolean'], 'text', isPrimitive, equals),
  binary('NOT_EQUALS', ['String', 'Integer', 'Boolean'], 'text', isPrimitive, equals, true),
  unary('IS_NULL', ANY_TYPE, (value) => value === null),
  unary('IS_NOT_NULL', ANY_TYPE, (value) => value !== null),
  unary('IS_TRUE', ['Boolean'], (value) => booleanOfScalar(value) === true),
  unary('IS_FALSE', ['Boolean'], (value) => booleanOfScalar(value) === false),
  binary('REGEX_MATCH', ['String'], 'regex', hasText, matchesRegex),
  binary('NOT_REGEX_MATCH', ['String'], 'regex', hasText, matchesRegex, true),
  binary('INCLUDES', ['String'], 'text', hasText, textTest((text, operand) => text.includes(operand))),
  binary('ENDS_WITH', ['String'], 'text', hasText, textTest((text, operand) => text.endsWith(operand))),
  binary('GREATER_THAN', ['Integer'], 'integer', isInteger, integerTest((value, operand) => value > operand)),
  binary('GREATER_THAN_OR_EQUALS', ['Integer'], 'integer', isInteger, integerTest((value, operand) => value >= operand)),
  binary('&', ['Integer'], 'integer', isInteger, integerTest(allBitsSet)),
  binary('!&', ['Integer'], 'integer', isInteger, integerTest(allBitsSet), true),
];

/** Upper case, with runs of spaces and underscores as one underscore: `Greater_Than`, `IS NOT NULL`, `is_not_null` agree. */
function normalizedName(name: string): string {
  return name.trim().toUpperCase().replace(/[\s_]+/g, '_');
}

const operatorsByName = new Map(operators.map((operator) => [operator.schema.name, operator]));

function operatorNamed(name: string): Operator | undefined {
  return operatorsByName.get(normalizedName(name));
}

/** The operators this engine evaluates in scoping clauses, in Graph's filterOperatorSchema shape. */
export const SCOPING_OPERATORS: readonly FilterOperatorSchema[] = operators.map((operator) => operator.schema);

/**
 * Whether `name` is an operator of {@link SCOPING_OPERATORS}, matched case-insensitively with spaces and
 * underscores alike, so the portal's spellings (`NOT EQUALS`, `Includes`, `Greater_Than`) count too.
 */
export function isKnownOperator(name: string): boolean {
  return operatorNamed(name) !== undefined;
}

/**
 * The scalar a clause compares. Scoping on multivalued attributes is not supported, so an array is read as its
 * first value, as the mapping engine reads single-valued Entra attributes over Graph collections. Absent, null,
 * empty text and empty arrays are all null.
 */
function scalarOf(value: unknown): Scalar | null {
  const first: unknown = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null || first === '') return null;
  if (typeof first === 'string' || typeof first === 'number' || typeof first === 'boolean' || typeof first === 'object') return first;
  return null;
}

function clauseHolds(clause: FilterClause, attributes: Readonly<Record<string, unknown>>): boolean {
  const operator = operatorNamed(clause.operatorName);
  if (operator === undefined) return false;
  const value = scalarOf(Object.hasOwn(attributes, clause.sourceOperandName) ? attributes[clause.sourceOperandName] : undefined);
  if (operator.arity === 'Unary') return operator.test(value);
  const operands = clause.targetOperand.values;
  if (value === null || operands.length === 0 || !operator.applies(value)) return false;
  const matched = operands.some((operand) => operator.matches(value, operand, tenantRegex));
  return operator.negated ? !matched : matched;
}

/** OR across groups, AND across each group's clauses; no groups at all puts nothing out of scope. */
function groupsHold(groups: readonly FilterGroup[], attributes: Readonly<Record<string, unknown>>): boolean {
  return groups.length === 0 || groups.some((group) => group.clauses.every((clause) => clauseHolds(clause, attributes)));
}

/**
 * Whether a source object (attributes under Entra's names, see `entraAttributes`) is in a mapping's scope.
 * `groups` and, when it has any, `inputFilterGroups` must both hold; `categoryFilterGroups` (experimental) are
 * not evaluated. A null filter or one without groups keeps everything in scope; a group without clauses holds.
 *
 * Clause semantics: a clause on an absent, null or empty value is false, negations included (`NOT EQUALS`,
 * `NOT REGEX MATCH`, `!&`, `IS FALSE`), except `IS NULL`, which is true there; so is a binary clause on a value
 * its operator cannot compare (an object for EQUALS, text that is not an integer for `&` or GREATER_THAN). Text
 * comparisons (`EQUALS`, `INCLUDES`, `ENDS_WITH`, regexes) are case-sensitive; binary operators hold when any of
 * the target values matches, their negations when none does; a binary clause without target values is false.
 * Booleans are JSON booleans or "True"/"False" in any case; integers are numbers or integer text. A regex is the
 * whole target value as an unanchored pattern, run in linear time (tenant-regex.ts). An unknown operator makes its
 * clause false (`checkFilter` reports it).
 * @throws ExpressionError for a regex that cannot be used (`checkFilter` refuses it; a stored schema may still
 *   hold one) or is too costly on the value: the object's scope cannot be told, so it must not be decided.
 */
export function inScope(filter: Filter | null, attributes: Readonly<Record<string, unknown>>): boolean {
  if (filter === null) return true;
  return groupsHold(filter.groups, attributes) && groupsHold(filter.inputFilterGroups, attributes);
}

/** Whether evaluating the filter (as {@link inScope} does) may compile a regular expression: a regex operator. */
export function filterUsesRegex(filter: Filter | null): boolean {
  if (filter === null) return false;
  const clauses = [...filter.groups, ...filter.inputFilterGroups].flatMap((group) => group.clauses);
  return clauses.some((clause) => {
    const operator = operatorNamed(clause.operatorName);
    return operator?.arity === 'Binary' && operator.operand === 'regex';
  });
}

function operandProblem(kind: OperandKind, operand: string): string | null {
  if (kind === 'integer' && integerOf(operand) === null) return `"${operand}" is not an integer`;
  const problem = kind === 'regex' ? regexProblem(operand) : null;
  return problem === null ? null : `${quoted(operand)} is not a valid regular expression: ${problem}`;
}

function clauseProblems(clause: FilterClause): string[] {
  const problems: string[] = [];
  if (clause.sourceOperandName.trim() === '') problems.push('names no source attribute');
  const operator = operatorNamed(clause.operatorName);
  if (operator === undefined) {
    problems.push(`uses the unknown operator "${clause.operatorName}" (known: ${SCOPING_OPERATORS.map((known) => known.name).join(', ')})`);
    return problems;
  }
  const values = clause.targetOperand.values;
  if (operator.arity === 'Unary') {
    if (values.length > 0) problems.push(`gives values to ${operator.schema.name}, which takes none`);
    return problems;
  }
  if (values.length === 0) problems.push(`gives ${operator.schema.name} no value to compare with`);
  for (const value of values) {
    const problem = operandProblem(operator.operand, value);
    if (problem !== null) problems.push(`gives ${operator.schema.name} ${problem}`);
  }
  return problems;
}

function groupProblems(setName: string, groups: readonly FilterGroup[]): string[] {
  return groups.flatMap((group, groupIndex) => {
    const groupLabel = group.name.trim() === '' ? `#${groupIndex + 1}` : `"${group.name}"`;
    return group.clauses.flatMap((clause, clauseIndex) =>
      clauseProblems(clause).map(
        (problem) => `Scoping filter ${setName} ${groupLabel}, clause ${clauseIndex + 1} (${clause.sourceOperandName} ${clause.operatorName}) ${problem}.`,
      ),
    );
  });
}

/**
 * What keeps a scoping filter from being saved, one sentence per problem naming the group and clause: unknown
 * operators, a source attribute missing, unary operators given values, binary ones given none, target values
 * that are not integers for integer operators or not valid regular expressions for regex operators.
 * `categoryFilterGroups` are not evaluated, so not checked. Empty when the filter is fine.
 */
export function checkFilter(filter: Filter): string[] {
  return [...groupProblems('group', filter.groups), ...groupProblems('input filter group', filter.inputFilterGroups)];
}
