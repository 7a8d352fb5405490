import { toGraphJob } from '../domain/job-lifecycle.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands } from '../config/services.ts';
import { createJobBodySchema } from '../schemas/requests.ts';

export const handler = graphHandler(
  { access: 'write', body: createJobBodySchema },
  async ({ principal, servicePrincipalId, body, origin }) => {
    const job = await getJobCommands().create(principal.tenantId, servicePrincipalId, body);
    const location = `${origin}/v1.0/servicePrincipals/${servicePrincipalId}/synchronization/jobs/${job.id}`;
    return { statusCode: 201, headers: { location }, body: toGraphJob(job) };
  },
);
