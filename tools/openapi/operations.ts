import * as z from 'zod/mini';
import type * as core from 'zod/v4/core';
import { DEFAULT_TOP as LOG_DEFAULT_TOP, MAX_TOP as LOG_MAX_TOP } from '../../functions/api/audit-logs-provisioning.ts';
import { DEFAULT_TOP as JOBS_DEFAULT_TOP, MAX_TOP as JOBS_MAX_TOP } from '../../functions/api/jobs-list.ts';
import { SUPPORTED_FILTER } from '../../functions/domain/provisioning-log-filter.ts';
import { attributeMappingFunctionSchemaSchema, attributeMappingSourceSchema, synchronizationSchemaSchema } from '../../functions/domain/mapping/schema.ts';
import { MAX_SCHEMA_BYTES } from '../../functions/domain/mapping/limits.ts';
import { filterOperatorSchemaSchema } from '../../functions/domain/mapping/scoping-filter.ts';
import { changeNotificationCollectionSchema } from '../../functions/schemas/change-notification.ts';
import {
  progressSchema,
  quarantineSchema,
  synchronizationErrorSchema,
  synchronizationJobSchema,
  synchronizationScheduleSchema,
  taskExecutionSchema,
} from '../../functions/schemas/graph.ts';
import {
  graphErrorBodySchema,
  parseExpressionResponseSchema,
  stringKeyStringValuePairSchema,
  synchronizationTemplateSchema,
} from '../../functions/schemas/graph-responses.ts';
import { provisioningObjectSummarySchema } from '../../functions/schemas/provisioning-log.ts';
import {
  createJobBodySchema,
  emptyBodySchema,
  parseExpressionBodySchema,
  provisionOnDemandBodySchema,
  putSecretsBodySchema,
  restartJobBodySchema,
  updateJobBodySchema,
  validateCredentialsBodySchema,
} from '../../functions/schemas/requests.ts';

/**
 * What the OpenAPI document says of each route of functions/api/routes.ts beyond its method and path: names,
 * descriptions, parameters, bodies and the statuses its handler answers. Only the generator and its tests import
 * this module, so none of it reaches a Lambda bundle.
 */

/** Collections as the list handlers render them. */
const collection = (item: core.$ZodType, paged: boolean) =>
  z.object({
    '@odata.context': z.string(),
    value: z.array(item),
    ...(paged ? { '@odata.nextLink': z.optional(z.string()) } : {}),
  });

/** Response components (what the handlers render: zod's output side), by component name. */
export const responseSchemas: Readonly<Record<string, core.$ZodType>> = {
  synchronizationJob: synchronizationJobSchema,
  synchronizationJobWithSchema: z.object({ ...synchronizationJobSchema.shape, schema: z.optional(synchronizationSchemaSchema) }),
  synchronizationJobCollection: collection(synchronizationJobSchema, true),
  synchronizationSchedule: synchronizationScheduleSchema,
  synchronizationTaskExecution: taskExecutionSchema,
  synchronizationProgress: progressSchema,
  synchronizationQuarantine: quarantineSchema,
  synchronizationError: synchronizationErrorSchema,
  synchronizationSchema: synchronizationSchemaSchema,
  attributeMappingSource: attributeMappingSourceSchema,
  attributeMappingFunctionSchemaCollection: z.object({ value: z.array(attributeMappingFunctionSchemaSchema) }),
  filterOperatorSchemaCollection: z.object({ value: z.array(filterOperatorSchemaSchema) }),
  parseExpressionResponse: parseExpressionResponseSchema,
  stringKeyStringValuePair: stringKeyStringValuePairSchema,
  synchronizationTemplate: synchronizationTemplateSchema,
  synchronizationTemplateCollection: collection(synchronizationTemplateSchema, false),
  provisioningObjectSummary: provisioningObjectSummarySchema,
  provisioningObjectSummaryCollection: collection(provisioningObjectSummarySchema, true),
  graphError: graphErrorBodySchema,
  /** API Gateway's own answer (its throttle's 429): not Graph's shape. */
  apiGatewayMessage: z.object({ message: z.string() }),
  openApiDocument: z.looseObject({ openapi: z.string() }),
};

/** Request components (what the handlers accept: zod's input side, so a property with a default is optional). */
export const requestSchemas: Readonly<Record<string, core.$ZodType>> = {
  createJobRequest: createJobBodySchema,
  updateJobRequest: updateJobBodySchema,
  restartJobRequest: restartJobBodySchema,
  emptyRequest: emptyBodySchema,
  putSecretsRequest: putSecretsBodySchema,
  validateCredentialsRequest: validateCredentialsBodySchema,
  provisionOnDemandRequest: provisionOnDemandBodySchema,
  parseExpressionRequest: parseExpressionBodySchema,
  synchronizationSchemaInput: synchronizationSchemaSchema,
  attributeMappingSourceInput: attributeMappingSourceSchema,
  changeNotificationCollection: changeNotificationCollectionSchema,
};

export type Access = 'read' | 'write' | 'auditLog' | 'none';

export interface QueryParameter {
  name: string;
  description: string;
  schema: core.$ZodType;
}

export interface SuccessResponse {
  description: string;
  /** A response component, or another media type's zod-free content (text, HTML). */
  body?: { component: string } | { oneOf: readonly string[] } | { mediaType: string };
  headers?: readonly string[];
}

export interface OperationSpec {
  operationId: string;
  /** Where one handler serves more than one method (a schema's PUT and PATCH), the other methods' ids. */
  operationIdByMethod?: Readonly<Partial<Record<string, string>>>;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  query?: readonly QueryParameter[];
  /**
   * A request component; `optional` when an absent body is read as `{}`. Behind a token, a body over `maxBytes`
   * (MAX_BODY_BYTES by default) is a 413.
   */
  body?: { component: string; optional?: boolean; maxBytes?: number };
  success: Readonly<Record<number, SuccessResponse>>;
  /** Statuses answered with Graph's error body, beyond those every authenticated route answers (400, 401, 403, 500). */
  errors?: readonly number[];
  /** False for the static documents, which are answered without `request-id` and `client-request-id`. */
  requestIds?: false;
  /** What an error status means on this route, where it means something else than on the others. */
  errorNotes?: Readonly<Record<number, string>>;
}

/** Statuses with Graph's error body that every route behind a token can answer. */
export const COMMON_ERRORS = [400, 401, 403, 500] as const;

const top = (max: number, fallback: number): QueryParameter => ({
  name: '$top',
  description: `Items per page (${fallback} when absent); a page with more after it has \`@odata.nextLink\`.`,
  schema: z.int().check(z.minimum(1), z.maximum(max)),
});
const skipToken: QueryParameter = {
  name: '$skiptoken',
  description: 'The cursor of the next page: follow `@odata.nextLink` as it is rather than building one.',
  schema: z.string(),
};

/** A job command: the job must exist (404), another writer may win the race (409). */
const JOB_WRITE = [404, 409] as const;
/** Commands that also put or remove the job's EventBridge schedule: 503 with Retry-After while Scheduler is out. */
const SCHEDULE_WRITE = [404, 409, 503] as const;
const noContent = { 204: { description: 'Done.' } };

/** Keyed by the route's handler name (functions/api/routes.ts); every route must have one. */
export const operations: Readonly<Record<string, OperationSpec>> = {
  'status-page': {
    operationId: 'getStatusPage',
    requestIds: false,
    summary: 'The status page',
    description: 'An HTML document without data; its script reads the jobs and provisioning logs with a bearer token.',
    tag: 'service',
    access: 'none',
    success: { 200: { description: 'The page.', body: { mediaType: 'text/html' } } },
  },
  'openapi-document': {
    operationId: 'getOpenApiDocument',
    requestIds: false,
    summary: 'This document',
    description: 'The OpenAPI description of this API, the same for every caller (docs/openapi.json in the repository).',
    tag: 'service',
    access: 'none',
    success: { 200: { description: 'The document.', body: { component: 'openApiDocument' } } },
  },
  'change-notifications': {
    operationId: 'receiveChangeNotifications',
    summary: "Graph's change-notification webhook",
    description:
      "Called by Graph without a token: with `validationToken`, the subscription handshake (the token echoed as text); " +
      "else a batch of notifications, each proving itself by its subscription's clientState. The notified jobs run soon.",
    tag: 'notifications',
    access: 'none',
    query: [{ name: 'validationToken', description: "Graph's handshake token, answered as it is.", schema: z.string().check(z.maxLength(1024)) }],
    body: { component: 'changeNotificationCollection', optional: true },
    success: {
      200: { description: 'The handshake: the validation token.', body: { mediaType: 'text/plain' } },
      202: { description: 'Accepted: the notified jobs were asked to run.' },
    },
    errors: [400, 403],
    errorNotes: {
      400: 'Not a changeNotificationCollection (or a validationToken out of bounds).',
      403: 'No notification of the batch carries a known subscription and its clientState.',
    },
  },
  'jobs-list': {
    operationId: 'listJobs',
    summary: "List the service principal's synchronization jobs",
    tag: 'jobs',
    access: 'read',
    query: [top(JOBS_MAX_TOP, JOBS_DEFAULT_TOP), skipToken],
    success: { 200: { description: 'A page of jobs.', body: { component: 'synchronizationJobCollection' } } },
  },
  'jobs-create': {
    operationId: 'createJob',
    summary: 'Create a synchronization job',
    description: "`schedule` is this service's extension: the job's interval (whole minutes, at least PT1M). 403 `quotaLimitReached` past the deployment's job limits.",
    tag: 'jobs',
    access: 'write',
    body: { component: 'createJobRequest' },
    success: { 201: { description: 'The job, not yet started.', body: { component: 'synchronizationJob' }, headers: ['location'] } },
  },
  'jobs-get': {
    operationId: 'getJob',
    summary: 'Get a synchronization job and its status',
    tag: 'jobs',
    access: 'read',
    query: [{ name: '$expand', description: '`schema` inlines the effective schema.', schema: z.enum(['schema']) }],
    success: { 200: { description: 'The job.', body: { component: 'synchronizationJobWithSchema' } } },
    errors: [404],
  },
  'jobs-update': {
    operationId: 'updateJob',
    summary: "Change a job's schedule interval or settings",
    description: 'Settings are merged by name (FlattenNestedGroups, MaxRequestsPerSecond, ReconcileInterval, ...).',
    tag: 'jobs',
    access: 'write',
    body: { component: 'updateJobRequest' },
    success: noContent,
    errors: SCHEDULE_WRITE,
  },
  'jobs-delete': {
    operationId: 'deleteJob',
    summary: 'Delete a job and its schedule',
    description: "Its state is purged in the background; the target's accounts are kept.",
    tag: 'jobs',
    access: 'write',
    success: noContent,
    errors: SCHEDULE_WRITE,
  },
  'jobs-start': {
    operationId: 'startJob',
    summary: 'Start a job, or run an active one now',
    tag: 'jobs',
    access: 'write',
    body: { component: 'emptyRequest', optional: true },
    success: noContent,
    errors: SCHEDULE_WRITE,
  },
  'jobs-pause': {
    operationId: 'pauseJob',
    summary: 'Pause a job',
    tag: 'jobs',
    access: 'write',
    body: { component: 'emptyRequest', optional: true },
    success: noContent,
    errors: SCHEDULE_WRITE,
  },
  'jobs-restart': {
    operationId: 'restartJob',
    summary: 'Restart a job, resetting the given scope',
    description: '`resetScope` is a comma-separated set of None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes.',
    tag: 'jobs',
    access: 'write',
    body: { component: 'restartJobRequest', optional: true },
    success: noContent,
    errors: SCHEDULE_WRITE,
  },
  'jobs-validate-credentials': {
    operationId: 'validateJobCredentials',
    summary: 'Test the target credentials (saved or given) without changing anything',
    description: '400 `CredentialValidationFailed` says what failed.',
    tag: 'jobs',
    access: 'write',
    body: { component: 'validateCredentialsRequest' },
    success: { 204: { description: 'The target accepted the credentials.' } },
    errors: [404],
  },
  'jobs-provision-on-demand': {
    operationId: 'provisionOnDemand',
    summary: 'Provision up to five users, or a group with up to five members, now',
    tag: 'jobs',
    access: 'write',
    body: { component: 'provisionOnDemandRequest' },
    success: {
      200: {
        description: '`key` is a JSON string of the result, `value` a JSON string of the steps taken.',
        body: { component: 'stringKeyStringValuePair' },
      },
    },
    errors: [404],
  },
  'jobs-schema-get': {
    operationId: 'getJobSchema',
    summary: "The job's effective synchronization schema",
    tag: 'schema',
    access: 'read',
    success: { 200: { description: "The job's schema, else its template's.", body: { component: 'synchronizationSchema' } } },
    errors: [404],
  },
  'jobs-schema-put': {
    operationId: 'putJobSchema',
    // Graph documents PUT; the Kiota SDK's builder sends PATCH, with the same meaning here.
    operationIdByMethod: { PATCH: 'patchJobSchema' },
    summary: "Replace the job's schema",
    description: 'Checked first (a refused schema is named in the 400); the next run re-evaluates every object.',
    tag: 'schema',
    access: 'write',
    body: { component: 'synchronizationSchemaInput', maxBytes: MAX_SCHEMA_BYTES },
    success: noContent,
    errors: JOB_WRITE,
  },
  'jobs-schema-delete': {
    operationId: 'deleteJobSchema',
    summary: "Reset the job's schema to its template's",
    tag: 'schema',
    access: 'write',
    success: noContent,
    errors: JOB_WRITE,
  },
  'jobs-schema-functions': {
    operationId: 'listSchemaFunctions',
    summary: 'The expression functions the engine evaluates',
    tag: 'schema',
    access: 'read',
    success: { 200: { description: 'The functions, by name.', body: { component: 'attributeMappingFunctionSchemaCollection' } } },
    errors: [404],
  },
  'jobs-schema-filter-operators': {
    operationId: 'listSchemaFilterOperators',
    summary: 'The scoping-filter operators the engine evaluates',
    tag: 'schema',
    access: 'read',
    success: { 200: { description: 'The operators.', body: { component: 'filterOperatorSchemaCollection' } } },
    errors: [404],
  },
  'jobs-schema-function-call': {
    operationId: 'callSchemaFunction',
    summary: 'functions() or filterOperators(), in the OData function-call form the Kiota SDK sends',
    description: 'The same answers as …/schema/functions and …/schema/filterOperators.',
    tag: 'schema',
    access: 'read',
    success: {
      200: {
        description: 'The functions, or the operators.',
        body: { oneOf: ['attributeMappingFunctionSchemaCollection', 'filterOperatorSchemaCollection'] },
      },
    },
    errors: [404],
  },
  'jobs-schema-parse-expression': {
    operationId: 'parseExpression',
    summary: 'Parse a mapping expression and evaluate it on a test object',
    description: 'A failure to parse or evaluate is in the answer; an expression beyond the limits is a 400.',
    tag: 'schema',
    access: 'write',
    body: { component: 'parseExpressionRequest' },
    success: { 200: { description: 'The parsed expression and its result.', body: { component: 'parseExpressionResponse' } } },
    errors: [404],
  },
  'templates-list': {
    operationId: 'listTemplates',
    summary: 'The synchronization templates',
    tag: 'templates',
    access: 'read',
    success: { 200: { description: 'The templates.', body: { component: 'synchronizationTemplateCollection' } } },
  },
  'templates-get': {
    operationId: 'getTemplate',
    summary: 'A synchronization template',
    tag: 'templates',
    access: 'read',
    success: { 200: { description: 'The template.', body: { component: 'synchronizationTemplate' } } },
    errors: [404],
  },
  'secrets-put': {
    operationId: 'putSecrets',
    summary: "Set the service principal's target secrets",
    description: 'BaseAddress, SecretToken, ...: stored encrypted, never returned.',
    tag: 'secrets',
    access: 'write',
    body: { component: 'putSecretsRequest' },
    success: noContent,
  },
  'audit-logs-provisioning': {
    operationId: 'listProvisioningLogs',
    summary: "The tenant's provisioning logs, newest first",
    description: 'Also readable with AuditLog.Read.All.',
    tag: 'auditLogs',
    access: 'auditLog',
    query: [
      top(LOG_MAX_TOP, LOG_DEFAULT_TOP),
      { name: '$filter', description: `Supported: ${SUPPORTED_FILTER}. Anything else is a 400, never ignored.`, schema: z.string() },
      { name: '$orderby', description: 'Only `activityDateTime desc`, the order records are listed in.', schema: z.string() },
      skipToken,
    ],
    success: { 200: { description: 'A page of records.', body: { component: 'provisioningObjectSummaryCollection' } } },
  },
};
