import { BadRequestError } from '../errors/service-errors.ts';
import { toGraphJob } from '../domain/job-lifecycle.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands } from '../config/services.ts';

export const DEFAULT_TOP = 100;
export const MAX_TOP = 999;

export const handler = graphHandler({ access: 'read' }, async ({ principal, servicePrincipalId, query, origin }) => {
  const top = query.$top === undefined ? DEFAULT_TOP : Number(query.$top);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
    throw new BadRequestError(`Invalid $top '${query.$top}': use a whole number from 1 to ${MAX_TOP}.`);
  }
  const page = await getJobCommands().list(principal.tenantId, servicePrincipalId, top, query.$skiptoken || null);
  const base = `${origin}/v1.0/servicePrincipals/${servicePrincipalId}/synchronization/jobs`;
  return {
    statusCode: 200,
    body: {
      '@odata.context': `${origin}/v1.0/$metadata#servicePrincipals('${servicePrincipalId}')/synchronization/jobs`,
      value: page.jobs.map(toGraphJob),
      ...(page.cursor ? { '@odata.nextLink': `${base}?$top=${top}&$skiptoken=${page.cursor}` } : {}),
    },
  };
});
