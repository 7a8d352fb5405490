import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';

/** The effective schema: the job's customised one, else its template's. */
export const handler = graphHandler({ access: 'read', jobExists }, async ({ principal, servicePrincipalId, jobId }) => ({
  statusCode: 200,
  body: await getJobCommands().schema({ tenantId: principal.tenantId, servicePrincipalId, jobId }),
}));
