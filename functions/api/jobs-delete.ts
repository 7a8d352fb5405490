import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';

export const handler = graphHandler({ access: 'write', jobExists }, async ({ principal, servicePrincipalId, jobId }) => {
  await getJobCommands().delete({ tenantId: principal.tenantId, servicePrincipalId, jobId });
  return { statusCode: 204 };
});
