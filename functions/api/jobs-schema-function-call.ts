import type { Context } from 'aws-lambda';
import type { ApiEvent, ApiResult } from '../http/graph-handler.ts';
import { handler as filterOperators } from './jobs-schema-filter-operators.ts';
import { handler as functions } from './jobs-schema-functions.ts';
import { handler as notFound } from './not-found.ts';
import type { SchemaFunctionCall } from './routes.ts';

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

/** `schema/functions()` and `schema/filterOperators()`: OData function-call syntax for the two schema functions. */
const CALLS: Readonly<Record<SchemaFunctionCall, Handler>> = {
  'functions()': functions,
  'filterOperators()': filterOperators,
};

/** The segment as sent (path parameters arrive percent-encoded); a malformed escape names no function. */
function callOf(event: ApiEvent): string {
  try {
    return decodeURIComponent(event.pathParameters?.functionCall ?? '');
  } catch {
    return '';
  }
}

export const handler: Handler = (event, context) => {
  const call = callOf(event);
  return (Object.hasOwn(CALLS, call) ? CALLS[call as SchemaFunctionCall] : notFound)(event, context);
};
