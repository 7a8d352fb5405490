import { listFunctions } from '../domain/mapping/expression-functions.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';

/** The expression functions this engine evaluates (attributeMappingFunctionSchema). */
export const handler = graphHandler({ access: 'read', jobExists }, async ({ principal, servicePrincipalId, jobId }) => {
  await getJobCommands().get({ tenantId: principal.tenantId, servicePrincipalId, jobId });
  return { statusCode: 200, body: { value: listFunctions() } };
});
