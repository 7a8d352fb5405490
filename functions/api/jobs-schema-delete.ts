import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';

/** Resets the job's schema to its template's default. */
export const handler = graphHandler({ access: 'write', jobExists }, async ({ principal, servicePrincipalId, jobId }) => {
  await getJobCommands().resetSchema({ tenantId: principal.tenantId, servicePrincipalId, jobId });
  return { statusCode: 204 };
});
