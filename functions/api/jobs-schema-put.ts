import { UnusableSchemaError } from '../domain/job-errors.ts';
import { MAX_SCHEMA_BYTES } from '../domain/mapping/limits.ts';
import { checkSchema } from '../domain/mapping/schema-validation.ts';
import { withRegexEngine } from '../domain/mapping/tenant-regex.ts';
import { hasUnstatedFlags, synchronizationSchemaSchema, withStatedFlags } from '../domain/mapping/schema.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';

/**
 * Replaces the job's whole schema (Graph's PUT semantics, and PATCH's: the Kiota SDK updates it so); the job
 * re-evaluates every object on its next run. Flags a client left unstated keep the values of the schema replaced.
 */
export const handler = graphHandler(
  // A body over the stored limit could never be stored (checkSchema also measures it once defaults are filled in).
  { access: 'write', jobExists, body: synchronizationSchemaSchema, maxBodyBytes: MAX_SCHEMA_BYTES },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    const key = { tenantId: principal.tenantId, servicePrincipalId, jobId };
    const commands = getJobCommands();
    const stated = hasUnstatedFlags(body) ? withStatedFlags(body, await commands.schema(key)) : body;
    const checked = await withRegexEngine(() => checkSchema(stated));
    if ('problems' in checked) throw new UnusableSchemaError(checked.problems);
    await commands.putSchema(key, checked.schema);
    return { statusCode: 204 };
  },
);
