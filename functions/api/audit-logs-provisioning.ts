import { BadRequestError } from '../errors/service-errors.ts';
import { parseProvisioningLogFilter } from '../domain/provisioning-log-filter.ts';
import { graphHandler } from '../http/graph-handler.ts';
import { getServices } from '../config/services.ts';

export const DEFAULT_TOP = 50;
export const MAX_TOP = 1000;

/** GET /auditLogs/provisioning: the tenant's provisioning records, newest first, as Graph lists them. */
export const handler = graphHandler({ access: 'auditLog' }, async ({ principal, query, origin }) => {
  const top = query.$top === undefined ? DEFAULT_TOP : Number(query.$top);
  if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
    throw new BadRequestError(`Invalid $top '${query.$top}': use a whole number from 1 to ${MAX_TOP}.`);
  }
  const orderBy = query.$orderby?.trim().replace(/\s+/g, ' ');
  if (orderBy !== undefined && orderBy !== '' && !/^activityDateTime( desc)?$/i.test(orderBy)) {
    throw new BadRequestError(`Invalid $orderby '${query.$orderby}': records are listed by activityDateTime desc only.`);
  }
  const filter = parseProvisioningLogFilter(query.$filter);
  if ('error' in filter) throw new BadRequestError(filter.error);
  const services = getServices();
  const page = await services.provisioningLog.query({ tenantId: principal.tenantId, ...filter, top, cursor: query.$skiptoken || null, now: services.clock.now() });
  const next = [...(query.$filter ? [`$filter=${encodeURIComponent(query.$filter)}`] : []), `$top=${top}`, `$skiptoken=${page.cursor}`].join('&');
  return {
    statusCode: 200,
    body: {
      '@odata.context': `${origin}/v1.0/$metadata#auditLogs/provisioning`,
      value: page.records,
      ...(page.cursor ? { '@odata.nextLink': `${origin}/v1.0/auditLogs/provisioning?${next}` } : {}),
    },
  };
});
