import { graphHandler } from '../http/graph-handler.ts';
import { getServices, jobExists } from '../config/services.ts';
import { updateJobBodySchema } from '../schemas/requests.ts';

export const handler = graphHandler(
  { access: 'write', jobExists, body: updateJobBodySchema },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getServices().commands.updateInterval(
      { tenantId: principal.tenantId, servicePrincipalId, jobId },
      body.schedule.interval,
    );
    return { statusCode: 204 };
  },
);
