import type { ApiResult } from '../http/graph-handler.ts';
import { statusPageHeaders, statusPageHtml } from './status-page-html.ts';

/** GET /: the status page's HTML shell, the same for every caller (see routes.ts on why it needs no token). */
export const handler = async (): Promise<ApiResult> => ({ statusCode: 200, headers: { ...statusPageHeaders }, body: statusPageHtml });
