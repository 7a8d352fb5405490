import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  ServiceError,
  ServiceUnavailableError,
} from '../errors/service-errors.ts';
import {
  InvalidIntervalError,
  InvalidResetScopeError,
  JobCannotStartError,
  JobNotFoundError,
  UnknownTemplateError,
  UnusableSchemaError,
} from '../domain/job-errors.ts';
import { UnsupportedExpressionError } from '../domain/mapping/expression-error.ts';
import { InvalidCursorError, JobVersionConflictError } from '../ports/job-store.ts';
import { SchedulesUnavailableError } from '../ports/job-schedules.ts';
import { WorkerBusyError } from '../ports/worker-actions.ts';
import type { GraphErrorBody } from '../schemas/graph-responses.ts';
import { JobQuotaExceededError } from '../ports/job-quota.ts';

/** Problems of a refused schema named in the message; the rest are counted. */
const SCHEMA_PROBLEMS_SHOWN = 5;

/**
 * Maps any thrown value to a ServiceError, most specific first: the HTTP tree as it is, then the domain's and the
 * ports' errors to their Graph status, code and message. Unknown errors become a generic 500.
 */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  if (error instanceof JobNotFoundError) return jobNotFound(error.jobId);
  if (error instanceof JobCannotStartError) {
    return new BadRequestError(
      `The job cannot start: the secrets ${error.missingSecrets.join(', ')} are not set. ` +
        `Set them with PUT /servicePrincipals/${error.servicePrincipalId}/synchronization/secrets.`,
    );
  }
  if (error instanceof UnknownTemplateError) {
    return new BadRequestError(`Unknown templateId '${error.templateId}'. GET .../synchronization/templates lists them.`);
  }
  if (error instanceof InvalidIntervalError) return new BadRequestError(`Invalid interval '${error.interval}'.`);
  if (error instanceof InvalidResetScopeError) {
    return new BadRequestError(
      `Invalid resetScope '${error.resetScope}'. Use a comma-separated set of None, ConnectorDataStore, Escrows, ` +
        'Watermark, QuarantineState, Full, ForceDeletes.',
    );
  }
  if (error instanceof UnusableSchemaError) {
    const { problems } = error;
    const more = problems.length > SCHEMA_PROBLEMS_SHOWN ? ` (and ${problems.length - SCHEMA_PROBLEMS_SHOWN} more)` : '';
    return new BadRequestError(`The schema cannot be used: ${problems.slice(0, SCHEMA_PROBLEMS_SHOWN).join(' ')}${more}`);
  }
  if (error instanceof JobQuotaExceededError) {
    const [where, setting] =
      error.scope === 'tenant' ? ['This tenant', 'MAX_JOBS_PER_TENANT'] : ['This service principal', 'MAX_JOBS_PER_SERVICE_PRINCIPAL'];
    return new ServiceError(403, 'quotaLimitReached', `${where} has ${error.limit} jobs, the most this deployment allows (${setting}). Delete a job first.`);
  }
  if (error instanceof UnsupportedExpressionError) return new BadRequestError(`${error.message}.`);
  if (error instanceof JobVersionConflictError) {
    return new ConflictError('The job was changed by another request at the same time. Retry the request.');
  }
  if (error instanceof InvalidCursorError) {
    return new BadRequestError('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
  }
  if (error instanceof SchedulesUnavailableError) {
    return new ServiceUnavailableError(
      'The job schedule could not be updated right now; nothing was changed. Retry after the indicated delay.',
      error.retryAfterSeconds,
    );
  }
  if (error instanceof WorkerBusyError) {
    return new ServiceUnavailableError('The sync worker is busy with other runs right now; nothing was changed. Retry after the indicated delay.', 10);
  }
  return new ServiceError(500, 'generalException', 'An internal error occurred. Retry the request later.');
}

/** Graph's error body: {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}. */
export function renderServiceError(
  error: ServiceError,
  requestId: string,
  clientRequestId: string,
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: error.statusCode,
    headers: {
      'content-type': 'application/json',
      'request-id': requestId,
      'client-request-id': clientRequestId,
      ...error.headers,
    },
    body: JSON.stringify({
      error: {
        code: error.code,
        message: error.message,
        innerError: {
          date: new Date().toISOString().slice(0, 19),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    } satisfies GraphErrorBody),
  };
}

function jobNotFound(jobId: string): NotFoundError {
  return new NotFoundError(
    `Resource '${jobId}' does not exist or one of its queried reference-property objects are not present.`,
  );
}
