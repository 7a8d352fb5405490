import { BadRequestError } from '../errors/service-errors.ts';
import { toGraphJob } from '../domain/job-lifecycle.ts';
import { effectiveSchema } from '../use-cases/job-commands.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, getServices, jobExists } from '../config/services.ts';

export const handler = graphHandler({ access: 'read', jobExists }, async ({ principal, servicePrincipalId, jobId, query }) => {
  const expand = query.$expand;
  if (expand !== undefined && expand !== 'schema') {
    throw new BadRequestError(`Invalid $expand '${expand}': only 'schema' can be expanded.`);
  }
  const commands = getJobCommands();
  const { schemas } = getServices();
  const job = await commands.get({ tenantId: principal.tenantId, servicePrincipalId, jobId });
  const body = toGraphJob(job);
  return { statusCode: 200, body: expand ? { ...body, schema: await effectiveSchema(schemas, job) } : body };
});
