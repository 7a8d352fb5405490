import { describe, expect, it } from 'vitest';
import {
  InvalidIntervalError,
  InvalidResetScopeError,
  JobCannotStartError,
  JobNotFoundError,
  UnknownTemplateError,
  UnusableSchemaError,
} from '../../functions/domain/job-errors.ts';
import { toServiceError } from '../../functions/http/graph-error.ts';
import { InvalidCursorError, JobVersionConflictError } from '../../functions/ports/job-store.ts';
import { SchedulesUnavailableError } from '../../functions/ports/job-schedules.ts';
import { WorkerBusyError } from '../../functions/ports/worker-actions.ts';
import type { JobKey } from '../../functions/schemas/stored-job.ts';

const TENANT = '00000000-0000-4000-8000-000000000001';
const JOB = `scim.${'a'.repeat(32)}.${TENANT}`;
const key: JobKey = { tenantId: TENANT, servicePrincipalId: 'sp', jobId: JOB };

describe('toServiceError maps the domain and port errors to their Graph answer', () => {
  const problems = ['One.', 'Two.', 'Three.', 'Four.', 'Five.', 'Six.', 'Seven.'];
  it.each([
    [new JobNotFoundError(JOB), 404, 'Request_ResourceNotFound', `Resource '${JOB}' does not exist or one of its queried reference-property objects are not present.`],
    [
      new JobCannotStartError('sp', ['BaseAddress', 'SecretToken']),
      400,
      'invalidRequest',
      'The job cannot start: the secrets BaseAddress, SecretToken are not set. Set them with PUT /servicePrincipals/sp/synchronization/secrets.',
    ],
    [new UnknownTemplateError('salesforce'), 400, 'invalidRequest', "Unknown templateId 'salesforce'. GET .../synchronization/templates lists them."],
    [new InvalidIntervalError('PT30S'), 400, 'invalidRequest', "Invalid interval 'PT30S'."],
    [
      new InvalidResetScopeError('Everything'),
      400,
      'invalidRequest',
      "Invalid resetScope 'Everything'. Use a comma-separated set of None, ConnectorDataStore, Escrows, Watermark, QuarantineState, Full, ForceDeletes.",
    ],
    [new UnusableSchemaError(problems), 400, 'invalidRequest', 'The schema cannot be used: One. Two. Three. Four. Five. (and 2 more)'],
    [new UnusableSchemaError(['Only.']), 400, 'invalidRequest', 'The schema cannot be used: Only.'],
    [new JobVersionConflictError(key), 409, 'conflict', 'The job was changed by another request at the same time. Retry the request.'],
    [new InvalidCursorError(), 400, 'invalidRequest', 'Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.'],
    [new SchedulesUnavailableError('down', 9), 503, 'serviceNotAvailable', expect.stringContaining('nothing was changed')],
    [new WorkerBusyError(), 503, 'serviceNotAvailable', expect.stringContaining('nothing was changed')],
    [new Error('secret detail'), 500, 'generalException', 'An internal error occurred. Retry the request later.'],
  ])('%s → %i %s', (error, status, code, message) => {
    const mapped = toServiceError(error);
    expect({ status: mapped.statusCode, code: mapped.code, message: mapped.message }).toEqual({ status, code, message });
  });
});
