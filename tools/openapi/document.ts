import * as z from 'zod/mini';
import type * as core from 'zod/v4/core';
import { apiRoutes, schemaFunctionCalls, type ApiRoute } from '../../functions/api/routes.ts';
import { JOB_ID, SERVICE_PRINCIPAL_ID } from '../../functions/domain/ids.ts';
import { AUDIT_LOG_PERMISSION, READ_PERMISSION, WRITE_PERMISSION } from '../../functions/http/principal.ts';
import { MAX_BODY_BYTES } from '../../functions/http/graph-handler.ts';
import { COMMON_ERRORS, operations, requestSchemas, responseSchemas, type Access, type OperationSpec } from './operations.ts';

/**
 * The OpenAPI 3.1 document of the API, assembled from functions/api/routes.ts (methods and paths), the zod schemas
 * (bodies, through zod's own JSON Schema output, draft 2020-12 as OpenAPI 3.1 uses it) and ./operations.ts (the
 * rest). `npm run openapi` writes it to docs/openapi.json; GET /openapi.json serves that file.
 */

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

const componentRef = (name: string) => `#/components/schemas/${name}`;

/**
 * Named zod schemas (classic or mini: both are zod core schemas) as OpenAPI components. A named schema used inside
 * another becomes a `$ref` to its component, recursive ones included.
 */
export function componentSchemas(named: Readonly<Record<string, core.$ZodType>>, io: Io): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(named)) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, {
    io,
    uri: componentRef,
    unrepresentable: 'throw',
    override(ctx) {
      // A value checked before it is parsed (`z.unknown().refine(…).pipe(schema)`, see mapping/schema.ts) accepts
      // what its second half accepts: document that rather than "anything".
      const def = ctx.zodSchema._zod.def;
      if (io === 'input' && def.type === 'pipe' && def.in._zod.def.type === 'unknown') {
        const id = registry.get(def.out)?.id;
        if (id === undefined) throw new Error(`name the schema a checked value is parsed with (at ${ctx.path.join('.')})`);
        for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as JsonSchema)[key];
        ctx.jsonSchema.$ref = componentRef(id);
      }
    },
  });
  return Object.fromEntries(
    Object.entries(schemas).map(([id, { $schema: _dialect, $id: _id, ...schema }]) => {
      // Local definitions would resolve against the document's root, not the component: every shared schema is named.
      if ('$defs' in schema) throw new Error(`component ${id} has local $defs: name the schemas it shares`);
      return [id, schema as JsonSchema];
    }),
  );
}

const jsonSchemaOf = (schema: core.$ZodType): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as JsonSchema;
  return rest;
};

const errorDescriptions: Readonly<Record<number, string>> = {
  400: 'The request is refused: a malformed id, query option or body (the message says which). Nothing changed.',
  401: 'No valid access token.',
  403: 'The token lacks the permission (or a limit of the deployment was reached).',
  404: 'No such job (or template) for this tenant and service principal.',
  409: 'Another request changed the job at the same time; nothing was changed. Retry.',
  413: 'The body is over the limit.',
  429: "Too many requests: API Gateway's throttle (deployed stacks). Retry later.",
  500: 'An internal error; nothing to act on but a retry later.',
  503: 'The job schedule could not be updated; nothing was changed. Retry after Retry-After.',
};

const errorHeaders: Readonly<Record<number, readonly string[]>> = { 401: ['www-authenticate'], 503: ['retry-after'] };

function errorResponse(status: number, description = errorDescriptions[status]!): JsonSchema {
  // The functions verify tokens, so a 401 is Graph's error body; only API Gateway's throttle answers in its own shape.
  const own = { $ref: componentRef('apiGatewayMessage') };
  const graph = { $ref: componentRef('graphError') };
  const schema = status === 429 ? own : graph;
  const headers = status === 429 ? {} : { headers: withIds(errorHeaders[status]) };
  return { description, ...headers, content: { 'application/json': { schema } } };
}

const SECURITY_SCHEMES = ['entraId', 'bearer'] as const;

function security(access: Access): Array<Record<string, string[]>> {
  if (access === 'none') return [];
  const roles = {
    read: [READ_PERMISSION, WRITE_PERMISSION],
    write: [WRITE_PERMISSION],
    auditLog: [AUDIT_LOG_PERMISSION, READ_PERMISSION, WRITE_PERMISSION],
  }[access];
  // Any one of the roles will do: one requirement per scheme and role.
  return SECURITY_SCHEMES.flatMap((scheme) => roles.map((role) => ({ [scheme]: [role] })));
}

const pathParameterSchemas: Readonly<Record<string, JsonSchema>> = {
  servicePrincipalId: { type: 'string', pattern: SERVICE_PRINCIPAL_ID.source },
  jobId: { type: 'string', pattern: JOB_ID.source },
  templateId: { type: 'string' },
  functionCall: { type: 'string', enum: [...schemaFunctionCalls] },
};

function withIds(headers: readonly string[] = []) {
  return Object.fromEntries(['request-id', 'client-request-id', ...headers].map((name) => [name, { $ref: `#/components/headers/${name}` }]));
}

function operationOf(route: ApiRoute, spec: OperationSpec): JsonSchema {
  const pathNames = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  const parameters = [
    ...pathNames.map((name) => {
      const schema = pathParameterSchemas[name];
      if (!schema) throw new Error(`path parameter {${name}} of ${route.path} has no schema`);
      return { name, in: 'path', required: true, schema };
    }),
    ...(spec.query ?? []).map((query) => ({ name: query.name, in: 'query', description: query.description, schema: jsonSchemaOf(query.schema) })),
  ];
  const errors = new Set<number>([...(spec.access === 'none' ? [] : COMMON_ERRORS), ...(spec.errors ?? [])]);
  if (spec.body && spec.access !== 'none') errors.add(413);
  const responses: Record<string, unknown> = {};
  for (const [status, success] of Object.entries(spec.success)) {
    const content =
      success.body === undefined
        ? undefined
        : 'component' in success.body
          ? { 'application/json': { schema: { $ref: componentRef(success.body.component) } } }
          : 'oneOf' in success.body
            ? { 'application/json': { schema: { oneOf: success.body.oneOf.map((name) => ({ $ref: componentRef(name) })) } } }
            : { [success.body.mediaType]: { schema: { type: 'string' } } };
    const headers = spec.requestIds === false ? {} : { headers: withIds(success.headers) };
    responses[status] = { description: success.description, ...headers, ...(content ? { content } : {}) };
  }
  for (const status of [...errors].sort((a, b) => a - b)) {
    const note = spec.errorNotes?.[status];
    responses[status] = note ? errorResponse(status, note) : { $ref: `#/components/responses/${status}` };
  }
  if (spec.access !== 'none') responses[429] = { $ref: '#/components/responses/429' };
  const maxBytes = spec.body?.maxBytes ?? MAX_BODY_BYTES;
  return {
    operationId: spec.operationIdByMethod?.[route.method] ?? spec.operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    tags: [spec.tag],
    security: security(spec.access),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: !spec.body.optional,
            ...(spec.access === 'none' ? {} : { description: `At most ${maxBytes} bytes.` }),
            content: { 'application/json': { schema: { $ref: componentRef(spec.body.component) } } },
          },
        }
      : {}),
    responses,
  };
}

export interface DocumentInfo {
  version: string;
}

/** The whole document; throws when a route has no entry in ./operations.ts, or an entry no route. */
export function buildOpenApiDocument(info: DocumentInfo): JsonSchema {
  const responses = componentSchemas(responseSchemas, 'output');
  const requests = componentSchemas(requestSchemas, 'input');
  const clash = Object.keys(requests).find((name) => name in responses);
  if (clash) throw new Error(`component ${clash} is both a request and a response schema`);
  const unused = Object.keys(operations).filter((handler) => !apiRoutes.some((route) => route.handler === handler));
  if (unused.length > 0) throw new Error(`operations without a route: ${unused.join(', ')}`);

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of apiRoutes) {
    const spec = operations[route.handler];
    if (!spec) throw new Error(`route ${route.method} ${route.path} (${route.handler}) has no entry in tools/openapi/operations.ts`);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOf(route, spec);
  }
  return {
    openapi: '3.1.1',
    info: {
      title: 'Graph synchronization jobs',
      version: info.version,
      description:
        "A self-hosted implementation of Microsoft Graph's synchronization-job API (the routes, JSON names, enums " +
        'and error bodies are Graph\'s). Every response carries `request-id` and `client-request-id` (the caller\'s, ' +
        'when it sent a safe one). A path of no route answers 404, a known path with another method 405 with `Allow`, ' +
        "both in Graph's error body.",
    },
    servers: [{ url: '/', description: 'The host this document was read from (`npm start`: http://127.0.0.1:3000).' }],
    tags: [
      { name: 'jobs', description: 'Synchronization jobs: create, read, change, start, pause, restart, delete.' },
      { name: 'schema', description: "A job's synchronization schema (mappings, scoping) and the tools to write one." },
      { name: 'templates', description: 'The templates jobs are created from.' },
      { name: 'secrets', description: "A service principal's target credentials." },
      { name: 'auditLogs', description: 'What each run did to each object.' },
      { name: 'notifications', description: "Graph's change notifications, which make a job run at once." },
      { name: 'service', description: 'Documents of the service itself.' },
    ],
    paths,
    components: {
      schemas: { ...responses, ...requests },
      responses: Object.fromEntries(Object.keys(errorDescriptions).map((status) => [status, errorResponse(Number(status))])),
      headers: {
        'request-id': { description: 'The request id (API Gateway\'s).', schema: { type: 'string' } },
        'client-request-id': { description: "The caller's client-request-id when it sent one of `[\\w-]{1,64}`, else a fresh one.", schema: { type: 'string' } },
        location: { description: 'The created job.', schema: { type: 'string', format: 'uri' } },
        'retry-after': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
        'www-authenticate': { description: '`Bearer`.', schema: { type: 'string' } },
      },
      securitySchemes: {
        entraId: {
          type: 'oauth2',
          description:
            "An Entra ID app-only token (client credentials) for this API's app registration, requested with the scope " +
            '`<Application ID URI>/.default` from `https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token`; the app ' +
            'roles granted to the client are its `roles` claim, and its tenant (`tid`) is whose jobs it reaches.',
          flows: {
            clientCredentials: {
              tokenUrl: 'https://login.microsoftonline.com/organizations/oauth2/v2.0/token',
              scopes: {
                [READ_PERMISSION]: 'Read synchronization jobs, schemas, templates and provisioning logs.',
                [WRITE_PERMISSION]: 'Everything Read.All does, and create, change, run and delete jobs, and set secrets.',
                [AUDIT_LOG_PERMISSION]: 'Read the provisioning logs.',
              },
            },
          },
        },
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The same token, however it was obtained (`npm run token` for the local stack).',
        },
      },
    },
  };
}

/** The file as committed: two-space indentation and a final newline. */
export function serialise(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
