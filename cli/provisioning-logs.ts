import { z } from 'zod';
import { GraphApiError, CliError, type ApiClient } from './api-client.ts';
import { shortTime } from './progress.ts';

/** Graph's provisioningObjectSummary, the fields a log line shows (the rest is kept for --json). */
const identitySchema = z.looseObject({
  id: z.string().nullish(),
  displayName: z.string().nullish(),
  identityType: z.string().nullish(),
});

export const provisioningRecordSchema = z.looseObject({
  id: z.string().nullish(),
  activityDateTime: z.string(),
  provisioningAction: z.string().nullish(),
  sourceIdentity: identitySchema.nullish(),
  targetIdentity: identitySchema.nullish(),
  provisioningStatusInfo: z
    .looseObject({
      status: z.string().nullish(),
      errorInformation: z
        .looseObject({ errorCode: z.string().nullish(), reason: z.string().nullish(), additionalDetails: z.string().nullish() })
        .nullish(),
    })
    .nullish(),
});

const pageSchema = z.object({
  value: z.array(provisioningRecordSchema),
  '@odata.nextLink': z.string().nullish(),
});

export type ProvisioningRecord = z.infer<typeof provisioningRecordSchema>;

/** time, action, status, identity type and name; a failure's reason after a dash. */
export function formatRecord(record: ProvisioningRecord): string {
  const source = record.sourceIdentity;
  const name = source?.displayName || source?.id || record.targetIdentity?.id || '?';
  const status = record.provisioningStatusInfo?.status ?? '?';
  const parts = [shortTime(record.activityDateTime), record.provisioningAction ?? '?', status, source?.identityType ?? '?', name];
  const line = parts.join('  ');
  if (status.toLowerCase() !== 'failure') return line;
  const error = record.provisioningStatusInfo?.errorInformation;
  const reason = error?.reason || error?.additionalDetails || error?.errorCode;
  return reason ? `${line} — ${reason.replace(/\s+/g, ' ').trim()}` : line;
}

export interface LogQuery {
  jobId: string;
  failuresOnly: boolean;
  /** Only records after this time (a follow's poll). */
  after?: string;
}

/** OData string literals double their quotes. */
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

export function logsPath(query: LogQuery, top: number): string {
  const filter = [
    `jobId eq ${literal(query.jobId)}`,
    ...(query.failuresOnly ? [`provisioningStatusInfo/status eq 'failure'`] : []),
    ...(query.after ? [`activityDateTime gt ${query.after}`] : []),
  ].join(' and ');
  return `/auditLogs/provisioning?$filter=${encodeURIComponent(filter)}&$top=${top}`;
}

/** Up to `limit` records, newest first as Graph returns them, following @odata.nextLink. */
export async function readLogs(client: ApiClient, query: LogQuery, limit: number): Promise<ProvisioningRecord[]> {
  const records: ProvisioningRecord[] = [];
  let next: string | null | undefined = logsPath(query, limit);
  while (next && records.length < limit) {
    let answer;
    try {
      answer = await client.get(next);
    } catch (error) {
      // Not the job's 404 (a filter matches nothing with an empty page): the route itself is missing.
      if (error instanceof GraphApiError && error.status === 404) {
        throw new CliError(`provisioning logs are not available on this API (GET ${client.baseUrl}/auditLogs/provisioning answered 404)`);
      }
      throw error;
    }
    const page = pageSchema.safeParse(answer.json);
    if (!page.success) throw new CliError('the provisioning logs answer is not a page of provisioningObjectSummary records');
    records.push(...page.data.value);
    next = page.data['@odata.nextLink'];
  }
  return records.slice(0, limit);
}
