import { findTemplate } from '../domain/templates.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices } from '../config/services.ts';

/** The effective schema: the template's default (schema customisation keeps this route's shape). */
export const handler = graphHandler({ access: 'read' }, async ({ principal, servicePrincipalId, jobId }) => {
  const job = await getServices().commands.get({ tenantId: principal.tenantId, servicePrincipalId, jobId });
  return { statusCode: 200, body: findTemplate(job.templateId)?.schema };
});
