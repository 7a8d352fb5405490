import { MethodNotAllowedError, NotFoundError } from '../errors/service-errors.ts';
import { errorOnlyHandler } from '../http/graph-handler.ts';
import { apiRoutes } from './routes.ts';

const patterns = apiRoutes.map((route) => ({
  method: route.method,
  regex: new RegExp(`^${route.path.replace(/\{[^/]+\}/g, '[^/]+')}/?$`),
}));

/**
 * Requests that match no route: 405 with Allow on a known path with another method, else Graph's 404. A request
 * whose method a matching pattern allows reached here from a route that found nothing (`schema/{functionCall}`).
 */
export const handler = errorOnlyHandler((event) => {
  const path = event.rawPath ?? '';
  const allowed: string[] = patterns.filter((pattern) => pattern.regex.test(path)).map((pattern) => pattern.method);
  const method = event.requestContext?.http?.method ?? 'GET';
  if (allowed.length > 0 && !allowed.includes(method)) return new MethodNotAllowedError(method, allowed);
  return new NotFoundError(`Resource not found for the segment '${path.split('/').pop() ?? ''}'.`);
});
