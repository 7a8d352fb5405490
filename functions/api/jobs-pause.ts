import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';
import { emptyBodySchema } from '../schemas/requests.ts';

export const handler = graphHandler(
  { access: 'write', jobExists, body: emptyBodySchema, bodyOptional: true },
  async ({ principal, servicePrincipalId, jobId }) => {
    await getJobCommands().pause({ tenantId: principal.tenantId, servicePrincipalId, jobId });
    return { statusCode: 204 };
  },
);
