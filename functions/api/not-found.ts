import { MethodNotAllowedError, NotFoundError } from '../errors/service-errors.ts';
import { errorOnlyHandler } from '../http/graph-handler.ts';
import { apiRoutes, schemaFunctionCalls } from './routes.ts';

/** `{functionCall}` stands for the function calls it serves, not any segment. */
const functionCall = `(?:${schemaFunctionCalls.map((name) => name.replace(/[()]/g, '\\$&')).join('|')})`;

const patterns = apiRoutes.map((route) => ({
  method: route.method,
  regex: new RegExp(`^${route.path.replace('{functionCall}', functionCall).replace(/\{[^/]+\}/g, '[^/]+')}/?$`),
}));

/**
 * Requests that match no route, or name no function at `schema/{functionCall}`: 405 with Allow on a known path with
 * another method, else Graph's 404.
 */
export const handler = errorOnlyHandler((event) => {
  const path = event.rawPath ?? '';
  const allowed = patterns.filter((pattern) => pattern.regex.test(path)).map((pattern) => pattern.method);
  const method = event.requestContext?.http?.method ?? 'GET';
  if (allowed.length > 0) return new MethodNotAllowedError(method, allowed);
  return new NotFoundError(`Resource not found for the segment '${path.split('/').pop() ?? ''}'.`);
});
