import { parse, Tester, type Compare, type Filter, type LogExp, type NotFilter, type ValuePath } from 'scim2-parse-filter';
import { badRequest } from './scim-error.ts';
import { caseExactAttributePaths } from './scim-schemas.ts';

export type { Filter } from 'scim2-parse-filter';

/** Parses a `filter` query parameter; a malformed one is a 400 `invalidFilter` (RFC 7644 §3.4.2.2). */
export function parseScimFilter(text: string): Filter {
  let filter: Filter;
  try {
    filter = parse(text);
  } catch (error) {
    throw badRequest('invalidFilter', `The filter '${text}' is not valid: ${(error as Error).message}`);
  }
  return normalise(filter);
}

const coreSchemaPrefix = /^urn:ietf:params:scim:schemas:core:2\.0:(User|Group):/i;

/**
 * Two repairs after parsing. A compValue is a JSON string (RFC 7644 §3.4.2.2), so `\\` means one backslash;
 * scim2-parse-filter keeps both (it tolerates unescaped Windows names like `DOMAIN\user`), so halve each pair.
 * And core attributes may carry their schema URN (`urn:...:core:2.0:User:userName`), which stored resources do not.
 */
function normalise(filter: Filter): Filter {
  switch (filter.op) {
    case 'and':
    case 'or':
      return { ...filter, filters: (filter as LogExp).filters.map(normalise) } as LogExp;
    case 'not':
      return { ...filter, filter: normalise((filter as NotFilter).filter) } as NotFilter;
    case '[]': {
      const valuePath = filter as ValuePath;
      return { ...valuePath, attrPath: valuePath.attrPath.replace(coreSchemaPrefix, ''), valFilter: normalise(valuePath.valFilter) };
    }
    default: {
      const compare = filter as Compare;
      const attrPath = compare.attrPath.replace(coreSchemaPrefix, '');
      if (typeof compare.compValue !== 'string') return { ...compare, attrPath };
      return { ...compare, attrPath, compValue: compare.compValue.replace(/\\\\/g, '\\') };
    }
  }
}

const stringOperators = new Set<Compare['op']>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le']);

/**
 * scim2-parse-filter compares strings exactly; RFC 7643 makes most attributes (userName, displayName, emails)
 * caseExact=false, so those comparisons fold case on both sides.
 */
class CaseFoldingTester extends Tester {
  constructor(private readonly prefix = '') {
    super();
  }

  override test(resource: unknown, filter: Filter): boolean {
    if (filter.op === '[]') {
      const inner = new CaseFoldingTester(`${filter.attrPath.toLowerCase()}.`);
      return this.attrTest(this.attrPath(filter.attrPath), resource, (value) => inner.test(value, filter.valFilter));
    }
    if (isCompare(filter) && typeof filter.compValue === 'string' && !this.isCaseExact(filter.attrPath)) {
      const expected = filter.compValue.toLowerCase();
      return this.attrTest(this.attrPath(filter.attrPath), resource, (value) =>
        this[filter.op](typeof value === 'string' ? value.toLowerCase() : value, expected),
      );
    }
    return super.test(resource, filter);
  }

  private isCaseExact(attrPath: string): boolean {
    return caseExactAttributePaths.has(`${this.prefix}${attrPath.toLowerCase()}`);
  }
}

function isCompare(filter: Filter): filter is Compare {
  return stringOperators.has(filter.op as Compare['op']);
}

/** A predicate over stored resources for a parsed filter. */
export function compileScimFilter(filter: Filter): (resource: unknown) => boolean {
  const tester = new CaseFoldingTester();
  return (resource) => tester.test(resource, filter);
}

/**
 * An `attribute eq "value"` term that every match must satisfy (the filter itself, or one operand of a top-level
 * `and`), so that the store can narrow the candidates with an index before testing the whole filter.
 */
export function requiredEquality(filter: Filter): { attribute: string; value: string } | null {
  if (filter.op === 'eq' && typeof (filter as Compare).compValue === 'string') {
    const compare = filter as Compare;
    return { attribute: compare.attrPath.toLowerCase(), value: compare.compValue as string };
  }
  if (filter.op === 'and' && 'filters' in filter) {
    for (const operand of filter.filters) {
      const found = requiredEquality(operand);
      if (found) return found;
    }
  }
  return null;
}
