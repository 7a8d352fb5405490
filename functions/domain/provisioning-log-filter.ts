import type { ProvisioningLogEquals } from '../ports/provisioning-log.ts';

/** What a `$filter` of GET /auditLogs/provisioning asks for. */
export interface ProvisioningLogFilter {
  equals: ProvisioningLogEquals;
  after?: string;
  before?: string;
}

/** Graph's property paths that `eq` compares, by what the log filters on (names compare case-insensitively). */
const EQUALS: Record<string, keyof ProvisioningLogEquals> = {
  id: 'id',
  jobid: 'jobId',
  cycleid: 'cycleId',
  changeid: 'changeId',
  provisioningaction: 'provisioningAction',
  'provisioningstatusinfo/status': 'status',
  'sourceidentity/id': 'sourceId',
  'targetidentity/id': 'targetId',
  'serviceprincipal/id': 'servicePrincipalId',
};

/** What `$filter` supports, as refusals and the OpenAPI document say it. */
export const SUPPORTED_FILTER = 'jobId, cycleId, changeId, id, provisioningAction, provisioningStatusInfo/status, sourceIdentity/id, targetIdentity/id and servicePrincipal/id with eq, activityDateTime with gt and lt, joined by and';

/** One comparison: `<path> <op> '<string>'` or `<path> <op> <date>`; strings double a quote to escape it. */
const COMPARISON = /^\s*([A-Za-z]+(?:\/[A-Za-z]+)?)\s+(eq|gt|lt|ge|le|ne|contains)\s+('(?:[^']|'')*'|[0-9][0-9T:.+\-Z]*)\s*/i;

/** `$filter` as the log can answer it, or the reason it cannot (a filter is never ignored). */
export function parseProvisioningLogFilter(filter: string | undefined): ProvisioningLogFilter | { error: string } {
  const parsed: ProvisioningLogFilter = { equals: {} };
  if (filter === undefined || filter.trim() === '') return parsed;
  let rest = filter;
  for (;;) {
    const match = COMPARISON.exec(rest);
    if (!match) return { error: `The $filter '${filter.slice(0, 200)}' could not be read. Supported: ${SUPPORTED_FILTER}.` };
    const [whole, path = '', operator = '', literal = ''] = match;
    const property = path.toLowerCase();
    const op = operator.toLowerCase();
    if (property === 'activitydatetime') {
      const time = Date.parse(literal.replace(/^'|'$/g, ''));
      if (Number.isNaN(time)) return { error: `activityDateTime is compared with a date and time, not '${literal}'.` };
      if (op !== 'gt' && op !== 'lt') return { error: `activityDateTime supports gt and lt, not ${operator}.` };
      const iso = new Date(time).toISOString();
      if (op === 'gt') parsed.after = parsed.after === undefined || iso > parsed.after ? iso : parsed.after;
      else parsed.before = parsed.before === undefined || iso < parsed.before ? iso : parsed.before;
    } else {
      const field = EQUALS[property];
      if (field === undefined) return { error: `Filtering on '${path}' is not supported. Supported: ${SUPPORTED_FILTER}.` };
      if (op !== 'eq') return { error: `'${path}' supports eq only, not ${operator}.` };
      if (!literal.startsWith("'")) return { error: `'${path}' is compared with a quoted string.` };
      const value = literal.slice(1, -1).replace(/''/g, "'");
      const known = parsed.equals[field];
      if (known !== undefined && known !== value) return { error: `'${path}' cannot equal two values.` };
      parsed.equals[field] = value;
    }
    rest = rest.slice(whole.length);
    if (rest.trim() === '') return parsed;
    const joined = /^and\s+/i.exec(rest);
    if (!joined) return { error: `Filter clauses are joined by 'and' only. Supported: ${SUPPORTED_FILTER}.` };
    rest = rest.slice(joined[0].length);
  }
}
