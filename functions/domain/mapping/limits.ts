/**
 * What a tenant's schema, expressions and regular expressions may ask of the service. Each bound keeps one request
 * or one object's evaluation to milliseconds and kilobytes, and keeps recursion far from the stack (a zod parse of a
 * mapping source overflows at about 600 levels). README ("Limits of schemas and expressions") lists them.
 */

/** Entra's limit on the length of one mapping expression. */
export const MAX_EXPRESSION_LENGTH = 10_000;

/**
 * How deep a mapping source may nest, counting every node: `[mail]` is one level, `ToLower([mail])` two, and a
 * comparison is a level of its own. Entra's documented expressions nest a handful of levels; 32 leaves room for
 * long IIF chains. A deep one is also quadratic: each node repeats the text of everything under it.
 */
export const MAX_EXPRESSION_DEPTH = 32;

/**
 * Characters of one expression's parsed form (Graph's attributeMappingSource as JSON, where every node repeats its
 * own text): what parseExpression answers and what one expression adds to a stored schema.
 */
export const MAX_PARSED_EXPRESSION_CHARS = 128 * 1024;

/**
 * Characters of one value an expression produces (all of a multi-valued one's texts, plus one per value, so empty
 * values count). Far above any attribute a target takes; it stops Replace, Join or Append from multiplying a value
 * into megabytes.
 */
export const MAX_EXPRESSION_VALUE_CHARS = 64 * 1024;

/**
 * Characters of one tenant regular expression (Replace's regexPattern, a REGEX_MATCH operand). Real patterns are
 * tens of characters; matching costs pattern size times text length even in a linear-time engine, so the pattern
 * is bounded too.
 */
export const MAX_REGEX_PATTERN_LENGTH = 1_000;

/**
 * Instructions of a compiled regular expression: a short pattern can still compile large (`\pL{999}` is about
 * 1,000), and matching time grows with it.
 */
export const MAX_REGEX_PROGRAM_SIZE = 1_000;

/**
 * Program instructions times characters of text for one regular expression run on one value: the engine's worst
 * case, about a quarter of a second here. A simple pattern runs on any value an expression may produce.
 */
export const MAX_REGEX_WORK = 5_000_000;

/**
 * UTF-8 bytes of a stored schema, as JSON, after its defaults are filled in and its expressions parsed: well under
 * DynamoDB's 400 KB item, which also holds the keys. The scim template's schema is about 25 KB.
 */
export const MAX_SCHEMA_BYTES = 256 * 1024;
