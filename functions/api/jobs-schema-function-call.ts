import type { Context } from 'aws-lambda';
import type { ApiEvent, ApiResult } from '../http/graph-handler.ts';
import { handler as filterOperators } from './jobs-schema-filter-operators.ts';
import { handler as functions } from './jobs-schema-functions.ts';
import { handler as notFound } from './not-found.ts';

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** `schema/functions()` and `schema/filterOperators()`: OData function-call syntax for the two schema functions. */
const CALLS = new Map<string, Handler>([
  ['functions()', functions],
  ['filterOperators()', filterOperators],
]);

/** The segment as sent (path parameters arrive percent-encoded); a malformed escape names no function. */
function callOf(event: ApiEvent): string {
  try {
    return decodeURIComponent(event.pathParameters?.functionCall ?? '');
  } catch {
    return '';
  }
}

export const handler: Handler = (event, context) => (CALLS.get(callOf(event)) ?? notFound)(event, context);
