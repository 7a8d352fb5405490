/**
 * The HTTP API's routes, shared by the CDK API construct (one Lambda per entry file) and the local server.
 * `handler` names the entry file under functions/api/ (without .ts); each exports `handler`.
 */
export interface ApiRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API Gateway route path, with `{name}` parameters. */
  path: string;
  handler: string;
  /**
   * Served without a token. The status page's HTML shell: a browser navigation carries no bearer token, and the
   * shell holds no data (everything it shows comes from the routes below, which all need one). The OpenAPI document:
   * the same file for everyone (it is in the repository), fetched by tools that hold no token. And Graph's webhook:
   * Graph sends no token; each notification proves itself with its subscription's clientState.
   */
  unauthenticated?: true;
}

const SYNC = '/v1.0/servicePrincipals/{servicePrincipalId}/synchronization';

export const apiRoutes: readonly ApiRoute[] = [
  { method: 'GET', path: '/', handler: 'status-page', unauthenticated: true },
  { method: 'GET', path: '/openapi.json', handler: 'openapi-document', unauthenticated: true },
  { method: 'POST', path: '/notifications', handler: 'change-notifications', unauthenticated: true },
  { method: 'GET', path: `${SYNC}/jobs`, handler: 'jobs-list' },
  { method: 'POST', path: `${SYNC}/jobs`, handler: 'jobs-create' },
  { method: 'GET', path: `${SYNC}/jobs/{jobId}`, handler: 'jobs-get' },
  { method: 'PATCH', path: `${SYNC}/jobs/{jobId}`, handler: 'jobs-update' },
  { method: 'DELETE', path: `${SYNC}/jobs/{jobId}`, handler: 'jobs-delete' },
  { method: 'POST', path: `${SYNC}/jobs/{jobId}/start`, handler: 'jobs-start' },
  { method: 'POST', path: `${SYNC}/jobs/{jobId}/pause`, handler: 'jobs-pause' },
  { method: 'POST', path: `${SYNC}/jobs/{jobId}/restart`, handler: 'jobs-restart' },
  { method: 'POST', path: `${SYNC}/jobs/{jobId}/validateCredentials`, handler: 'jobs-validate-credentials' },
  { method: 'POST', path: `${SYNC}/jobs/{jobId}/provisionOnDemand`, handler: 'jobs-provision-on-demand' },
  { method: 'GET', path: `${SYNC}/jobs/{jobId}/schema`, handler: 'jobs-schema-get' },
  { method: 'PUT', path: `${SYNC}/jobs/{jobId}/schema`, handler: 'jobs-schema-put' },
  // Graph documents PUT; the Kiota SDK's schema builder has only patch. Both replace the whole schema.
  { method: 'PATCH', path: `${SYNC}/jobs/{jobId}/schema`, handler: 'jobs-schema-put' },
  { method: 'DELETE', path: `${SYNC}/jobs/{jobId}/schema`, handler: 'jobs-schema-delete' },
  { method: 'GET', path: `${SYNC}/jobs/{jobId}/schema/functions`, handler: 'jobs-schema-functions' },
  { method: 'GET', path: `${SYNC}/jobs/{jobId}/schema/filterOperators`, handler: 'jobs-schema-filter-operators' },
  // The same two functions called as OData functions, `functions()` and `filterOperators()` (the Kiota SDK's form).
  // A route path cannot hold `(`, so a parameter takes the whole segment and the handler picks the function.
  { method: 'GET', path: `${SYNC}/jobs/{jobId}/schema/{functionCall}`, handler: 'jobs-schema-function-call' },
  { method: 'POST', path: `${SYNC}/jobs/{jobId}/schema/parseExpression`, handler: 'jobs-schema-parse-expression' },
  { method: 'GET', path: `${SYNC}/templates`, handler: 'templates-list' },
  { method: 'GET', path: `${SYNC}/templates/{templateId}`, handler: 'templates-get' },
  { method: 'PUT', path: `${SYNC}/secrets`, handler: 'secrets-put' },
  { method: 'GET', path: '/v1.0/auditLogs/provisioning', handler: 'audit-logs-provisioning' },
];

/** The segments `{functionCall}` serves: the two schema functions in OData function-call syntax. */
export const schemaFunctionCalls = ['functions()', 'filterOperators()'] as const;
export type SchemaFunctionCall = (typeof schemaFunctionCalls)[number];

/**
 * Every other request under /v1.0 goes here: 405 with Allow for a known path, else a Graph 404.
 * (API Gateway route key `ANY /{proxy+}`.)
 */
export const fallbackHandler = 'not-found';
