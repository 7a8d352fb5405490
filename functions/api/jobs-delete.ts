import { graphHandler } from '../http/graph-handler.ts';
import { getServices, jobExists } from '../config/services.ts';

export const handler = graphHandler({ access: 'write', jobExists }, async ({ principal, servicePrincipalId, jobId }) => {
  await getServices().commands.delete({ tenantId: principal.tenantId, servicePrincipalId, jobId });
  return { statusCode: 204 };
});
