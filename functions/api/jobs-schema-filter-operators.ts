import { SCOPING_OPERATORS } from '../domain/mapping/scoping-filter.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';

/** The scoping-filter operators this engine evaluates (filterOperatorSchema). */
export const handler = graphHandler({ access: 'read', jobExists }, async ({ principal, servicePrincipalId, jobId }) => {
  await getJobCommands().get({ tenantId: principal.tenantId, servicePrincipalId, jobId });
  return { statusCode: 200, body: { value: SCOPING_OPERATORS } };
});
