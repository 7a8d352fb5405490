import { synchronizationSchemaSchema } from '../domain/mapping/schema.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices, jobExists } from '../config/services.ts';

/** Replaces the job's whole schema (Graph's PUT semantics); the job re-evaluates every object on its next run. */
export const handler = graphHandler(
  // Schemas run to tens of KB (the scim template's is 25 KB); a stored one must fit a DynamoDB item.
  { access: 'write', jobExists, body: synchronizationSchemaSchema, maxBodyBytes: 300 * 1024 },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getServices().commands.putSchema({ tenantId: principal.tenantId, servicePrincipalId, jobId }, body);
    return { statusCode: 204 };
  },
);
