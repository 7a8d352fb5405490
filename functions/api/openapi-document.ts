import type { ApiResult } from '../http/graph-handler.ts';
import document from '../../docs/openapi.json' with { type: 'json' };

const body = JSON.stringify(document);

/** GET /openapi.json: the committed OpenAPI document (`npm run openapi`), the same for every caller (see routes.ts). */
export const handler = async (): Promise<ApiResult> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300', 'x-content-type-options': 'nosniff' },
  body,
});
