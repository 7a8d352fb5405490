import { synchronizationSchemaSchema } from '../domain/mapping/schema.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices } from '../config/services.ts';

/** Replaces the job's whole schema (Graph's PUT semantics); the job re-evaluates every object on its next run. */
export const handler = graphHandler(
  { access: 'write', body: synchronizationSchemaSchema },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getServices().commands.putSchema({ tenantId: principal.tenantId, servicePrincipalId, jobId }, body);
    return { statusCode: 204 };
  },
);
