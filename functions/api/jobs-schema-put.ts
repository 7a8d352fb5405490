import { UnusableSchemaError } from '../domain/job-errors.ts';
import { MAX_SCHEMA_BYTES } from '../domain/mapping/limits.ts';
import { checkSchema } from '../domain/mapping/schema-validation.ts';
import { synchronizationSchemaSchema } from '../domain/mapping/schema.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices, jobExists } from '../config/services.ts';

/** Replaces the job's whole schema (Graph's PUT semantics); the job re-evaluates every object on its next run. */
export const handler = graphHandler(
  // A body over the stored limit could never be stored (checkSchema also measures it once defaults are filled in).
  { access: 'write', jobExists, body: synchronizationSchemaSchema, maxBodyBytes: MAX_SCHEMA_BYTES },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    const checked = checkSchema(body);
    if ('problems' in checked) throw new UnusableSchemaError(checked.problems);
    await getServices().commands.putSchema({ tenantId: principal.tenantId, servicePrincipalId, jobId }, checked.schema);
    return { statusCode: 204 };
  },
);
