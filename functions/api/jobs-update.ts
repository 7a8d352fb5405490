import { graphHandler } from '../http/graph-handler.ts';
import { getServices } from '../config/services.ts';
import { updateJobBodySchema } from '../schemas/requests.ts';

export const handler = graphHandler(
  { access: 'write', body: updateJobBodySchema },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getServices().commands.updateInterval(
      { tenantId: principal.tenantId, servicePrincipalId, jobId },
      body.schedule.interval,
    );
    return { statusCode: 204 };
  },
);
