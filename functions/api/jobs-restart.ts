import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';
import { restartJobBodySchema } from '../schemas/requests.ts';

export const handler = graphHandler(
  { access: 'write', jobExists, body: restartJobBodySchema, bodyOptional: true },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getJobCommands().restart(
      { tenantId: principal.tenantId, servicePrincipalId, jobId },
      body.criteria?.resetScope,
    );
    return { statusCode: 204 };
  },
);
