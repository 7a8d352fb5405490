import { parseAndEvaluate } from '../domain/mapping/parse-expression-response.ts';
import { withRegexEngine } from '../domain/mapping/tenant-regex.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getJobCommands, jobExists } from '../config/services.ts';
import { parseExpressionBodySchema } from '../schemas/requests.ts';

export const handler = graphHandler(
  { access: 'write', jobExists, body: parseExpressionBodySchema },
  async ({ principal, servicePrincipalId, jobId, body }) => {
    await getJobCommands().get({ tenantId: principal.tenantId, servicePrincipalId, jobId });
    const properties = body.testInputObject?.properties;
    const attributes = properties ? Object.fromEntries(properties.map((entry) => [entry.key, entry.value ?? null])) : null;
    return { statusCode: 200, body: await withRegexEngine(() => parseAndEvaluate(body.expression, attributes)) };
  },
);
