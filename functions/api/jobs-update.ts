import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';
import { updateJobBodySchema } from '../schemas/requests.ts';

export const handler = graphHandler(
  { access: 'write', jobExists, body: updateJobBodySchema },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getJobCommands().update(
      { tenantId: principal.tenantId, servicePrincipalId, jobId },
      {
        ...(body.schedule ? { interval: body.schedule.interval } : {}),
        ...(body.synchronizationJobSettings ? { settings: body.synchronizationJobSettings.map(({ name, value }) => ({ name, value })) } : {}),
      },
    );
    return { statusCode: 204 };
  },
);
