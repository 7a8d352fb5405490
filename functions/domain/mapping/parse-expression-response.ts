import { ExpressionError, UnsupportedExpressionError } from './expression-error.ts';
import { evaluate } from './expression-evaluator.ts';
import { textOf } from './expression-functions.ts';
import { parseExpression } from './expression.ts';
import type { AttributeMappingSource } from './schema.ts';
import type { ParseExpressionResponse } from '../../schemas/graph-responses.ts';

/**
 * Parses an attribute-mapping expression and, given a test object's properties, evaluates it: what an admin uses
 * to try a mapping before saving it. Failures are reported in the response, as Graph does, not as HTTP errors.
 * @throws UnsupportedExpressionError for an expression beyond the limits of limits.ts or with a regular expression
 *   the engine cannot run: the request is refused (400) rather than answered, as a schema PUT with it would be.
 */
export function parseAndEvaluate(expression: string, properties: Record<string, unknown> | null): ParseExpressionResponse {
  let parsed: AttributeMappingSource;
  try {
    parsed = parseExpression(expression);
  } catch (error) {
    return failure('ExpressionParsingFailed', error, { parsingSucceeded: false, parsedExpression: null });
  }
  if (properties === null) {
    return { error: null, evaluationResult: null, evaluationSucceeded: false, parsedExpression: parsed, parsingSucceeded: true };
  }
  try {
    const value = evaluate(parsed, properties);
    const evaluationResult = value === null ? [] : Array.isArray(value) ? value : [textOf(value)];
    return { error: null, evaluationResult, evaluationSucceeded: true, parsedExpression: parsed, parsingSucceeded: true };
  } catch (error) {
    return failure('ExpressionEvaluationFailed', error, { parsingSucceeded: true, parsedExpression: parsed });
  }
}

function failure(
  code: string,
  error: unknown,
  parse: Pick<ParseExpressionResponse, 'parsingSucceeded' | 'parsedExpression'>,
): ParseExpressionResponse {
  if (!(error instanceof ExpressionError) || error instanceof UnsupportedExpressionError) throw error;
  return { error: { code, message: error.message }, evaluationResult: null, evaluationSucceeded: false, ...parse };
}
