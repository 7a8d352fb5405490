import { MAX_SCHEMA_BYTES } from '../domain/mapping/limits.ts';
import { synchronizationSchemaSchema } from '../domain/mapping/schema.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices, jobExists } from '../config/services.ts';

/** Replaces the job's whole schema (Graph's PUT semantics); the job re-evaluates every object on its next run. */
export const handler = graphHandler(
  // A body over the stored limit could never be stored (checkSchema also measures it once defaults are filled in).
  { access: 'write', jobExists, body: synchronizationSchemaSchema, maxBodyBytes: MAX_SCHEMA_BYTES },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getServices().commands.putSchema({ tenantId: principal.tenantId, servicePrincipalId, jobId }, body);
    return { statusCode: 204 };
  },
);
