import { graphHandler } from '../http/graph-handler.ts';
import { templates, toGraphTemplate } from '../domain/templates.ts';

export const handler = graphHandler({ access: 'read' }, async ({ servicePrincipalId, origin }) => ({
  statusCode: 200,
  body: {
    '@odata.context': `${origin}/v1.0/$metadata#servicePrincipals('${servicePrincipalId}')/synchronization/templates`,
    value: templates.map(toGraphTemplate),
  },
}));
