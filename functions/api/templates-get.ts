import { graphHandler } from '../http/graph-handler.ts';
import { findTemplate, toGraphTemplate } from '../domain/templates.ts';
import { NotFoundError } from '../errors/service-errors.ts';

export const handler = graphHandler({ access: 'read' }, async ({ pathParameters }) => {
  const template = findTemplate(pathParameters.templateId ?? '');
  if (!template) throw new NotFoundError(`Template '${pathParameters.templateId}' does not exist.`);
  return { statusCode: 200, body: toGraphTemplate(template) };
});
