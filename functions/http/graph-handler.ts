import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { BadRequestError, PayloadTooLargeError, ServiceError } from '../errors/service-errors.ts';
import { accessTokenVerifier } from '../config/access-token.ts';
import { logger } from '../observability/logger.ts';
import { principalFromClaims, requirePermission, type Principal } from './principal.ts';
import { renderServiceError, toServiceError } from './graph-error.ts';
import { JOB_ID, SERVICE_PRINCIPAL_ID } from '../domain/ids.ts';
import { JobNotFoundError } from '../domain/job-errors.ts';
import type { JobKey } from '../schemas/stored-job.ts';

// zod/mini loads no locale (every issue would read "Invalid input"); the English one names what was expected, and
// request-body refusals quote it. It is global: set once here, where every API function's parsing goes through.
z.config(en());

/** Largest request body accepted; every body of this API is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** As API Gateway (HTTP API, payload v2) sends it; no authorizer: the token is verified here (see authenticate). */
export type ApiEvent = APIGatewayProxyEventV2;
export type ApiResult = APIGatewayProxyStructuredResultV2;

export interface GraphRequest<TBody> {
  principal: Principal;
  servicePrincipalId: string;
  /** Present on routes with `{jobId}`, already checked for shape. */
  jobId: string;
  pathParameters: Record<string, string>;
  query: Record<string, string>;
  body: TBody;
  /** Absolute base of this API (scheme and host) for Location and nextLink URLs. */
  origin: string;
}

export interface GraphResponse {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteOptions<TSchema extends z.ZodMiniType> {
  access: 'read' | 'write' | 'auditLog';
  /** Body schema; routes without one ignore the body. */
  body?: TSchema;
  /** An absent or empty body is parsed as `{}` (start, pause, restart take an optional body). */
  bodyOptional?: boolean;
  /** Larger bodies get 413; default MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /**
   * Required on routes with `{jobId}`: whether the caller's job exists. Existence comes first: a request refused
   * for anything else (its body, a value, the job's state) answers 404 when the job does not exist. The check
   * runs only once a request is refused, so an accepted request costs no extra read.
   */
  jobExists?: (key: JobKey) => Promise<boolean>;
}

export interface RequestIds {
  requestId: string;
  clientRequestId: string;
}

/** API Gateway's request id, and the caller's client-request-id when it is safe to echo (else a fresh one). */
export function idsOf(event: ApiEvent): RequestIds {
  const header = event.headers?.['client-request-id'];
  const clientRequestId = header && /^[\w-]{1,64}$/.test(header) ? header : randomUUID();
  return { requestId: event.requestContext?.requestId ?? randomUUID(), clientRequestId };
}

export function idHeaders(ids: RequestIds): Record<string, string> {
  return { 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId };
}

function readBody<TSchema extends z.ZodMiniType>(event: ApiEvent, options: RouteOptions<TSchema>): z.infer<TSchema> {
  if (!options.body) return undefined as z.infer<TSchema>;
  const raw = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  if (Buffer.byteLength(raw, 'utf8') > limit) throw new PayloadTooLargeError(limit);
  let json: unknown = {};
  if (raw.trim() !== '') {
    try {
      json = JSON.parse(raw);
    } catch {
      throw new BadRequestError('The request body is not valid JSON.');
    }
  } else if (!options.bodyOptional) {
    throw new BadRequestError('A JSON request body is required.');
  }
  const parsed = options.body.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at '${issue.path.join('.')}'` : '';
    throw new BadRequestError(`Invalid request body${where}: ${issue?.message ?? 'invalid value'}.`);
  }
  return parsed.data;
}

/** A path segment as sent, decoded; a malformed escape (`%zz`) is the client's mistake: 400, never a 500. */
export function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`The path has a malformed percent escape: '${segment.slice(0, 80)}'.`);
  }
}

function checkedPathParameters(event: ApiEvent): Record<string, string> {
  const params = Object.fromEntries(
    Object.entries(event.pathParameters ?? {}).map(([name, value]) => [name, decodedSegment(value ?? '')]),
  );
  if (params.servicePrincipalId !== undefined && !SERVICE_PRINCIPAL_ID.test(params.servicePrincipalId)) {
    throw new BadRequestError(`Invalid servicePrincipalId '${params.servicePrincipalId.slice(0, 80)}'.`);
  }
  if (params.jobId !== undefined && !JOB_ID.test(params.jobId)) {
    throw new BadRequestError(`Invalid synchronization job id '${params.jobId.slice(0, 200)}'.`);
  }
  return params;
}

/**
 * The scheme and host the request came in on, so a client follows our links the way it reached us. Deployed, an
 * HTTP API is https only and `domainName` is the name it was called by; the local server sets the scheme of its
 * listener (http or https) and the Host it received. Anything else in the header is not a scheme: https.
 */
function originOf(event: ApiEvent): string {
  const proto = event.headers?.['x-forwarded-proto'] === 'http' ? 'http' : 'https';
  return `${proto}://${event.requestContext?.domainName ?? event.headers?.host ?? 'localhost'}`;
}

/**
 * The caller, from the bearer token verified in the function (not by an API Gateway authorizer, whose 401 cannot
 * be given Graph's error body, and which accepts one issuer, so one tenant).
 */
async function authenticate(event: ApiEvent): Promise<Principal> {
  const claims = await accessTokenVerifier()(event.headers?.authorization);
  return principalFromClaims(claims);
}

/** Statuses that answer "not like this" about a resource: auth (401/403) and routing (404/405) come before existence. */
const REFUSALS = new Set([400, 409, 413, 415, 422]);

function isRefusal(error: unknown): boolean {
  return REFUSALS.has(toServiceError(error).statusCode);
}

/** Whether the refused request's job exists; when that cannot be told, the refusal stands (it is true either way). */
async function confirmJobExists(options: RouteOptions<z.ZodMiniType>, key: JobKey, refusal: unknown): Promise<boolean> {
  if (!options.jobExists) {
    logger.error('A route with {jobId} has no jobExists check', { jobId: key.jobId });
    return true;
  }
  try {
    return await options.jobExists(key);
  } catch (error) {
    logger.warn('Could not check that the job exists; answering the refusal', {
      jobId: key.jobId,
      refusal: (refusal as Error)?.name,
      error: error as Error,
    });
    return true;
  }
}

/**
 * Wraps one Graph method: request ids, token claims and permission, path and body validation, JSON rendering,
 * and Graph error bodies for every failure. Entry files stay a few lines: options plus the use case.
 */
export function graphHandler<TSchema extends z.ZodMiniType>(
  options: RouteOptions<TSchema>,
  handle: (request: GraphRequest<z.infer<TSchema>>) => Promise<GraphResponse>,
) {
  return middy<ApiEvent, ApiResult, Error, Context>().handler(async (event) => {
    const ids = idsOf(event);
    try {
      const principal = await authenticate(event);
      requirePermission(principal, options.access);
      const pathParameters = checkedPathParameters(event);
      const servicePrincipalId = pathParameters.servicePrincipalId ?? '';
      const jobKey = pathParameters.jobId === undefined ? null : { tenantId: principal.tenantId, servicePrincipalId, jobId: pathParameters.jobId };
      let response: GraphResponse;
      try {
        response = await handle({
          principal,
          servicePrincipalId,
          jobId: pathParameters.jobId ?? '',
          pathParameters,
          query: Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).map(([k, v]) => [k, v ?? ''])),
          body: readBody(event, options),
          origin: originOf(event),
        });
      } catch (error) {
        if (jobKey && isRefusal(error) && !(await confirmJobExists(options, jobKey, error))) throw new JobNotFoundError(jobKey.jobId);
        throw error;
      }
      const headers = { ...idHeaders(ids), ...response.headers };
      if (response.body === undefined) return { statusCode: response.statusCode, headers };
      return {
        statusCode: response.statusCode,
        headers: { 'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8', ...headers },
        body: JSON.stringify(response.body),
      };
    } catch (error) {
      const serviceError = toServiceError(error);
      return failed(serviceError, error, ids);
    }
  });
}

function failed(serviceError: ServiceError, error: unknown, ids: RequestIds): ApiResult {
  // Client mistakes and expected conflicts are answers, not failures: only a 5xx is worth an error log.
  if (serviceError.statusCode >= 500) logger.error('Request failed', { requestId: ids.requestId, error: error as Error });
  // Refused tokens never reach an API Gateway authorizer's log any more: the reason is logged here.
  else if (serviceError.statusCode === 401) logger.info('Token refused', { requestId: ids.requestId, reason: serviceError.message });
  return renderServiceError(serviceError, ids.requestId, ids.clientRequestId);
}

/** A handler for routes that answer only errors (the API's fallback route): to callers with a valid token only. */
export function errorOnlyHandler(toError: (event: ApiEvent) => ServiceError) {
  return middy<ApiEvent, ApiResult, Error, Context>().handler(async (event) => {
    const ids = idsOf(event);
    try {
      await authenticate(event);
      return renderServiceError(toError(event), ids.requestId, ids.clientRequestId);
    } catch (error) {
      return failed(toServiceError(error), error, ids);
    }
  });
}
