import { DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';

// A target that puts the bearer token in its error detail: nothing it answers may carry the token into the
// table (escrow items, job status, provisioning records), the API's answers or the log.
let h: SyncHarness;
let jobId: string;
const written: string[] = [];

beforeAll(async () => {
  // A token with characters that JSON and URLs escape, as base64 tokens have.
  h = await startSyncHarness({ seedUsers: 6, seedGroups: 1, scimToken: 'eyJ0eXAi/OiJKV1Qi+LCJhbGciOiJIUzI1NiJ9==' });
  jobId = await h.startedJob();
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      written.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof stream.write);
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await h?.close();
});

/** Every attribute of every item in the table, as text. */
async function tableText(): Promise<string> {
  const client = new DynamoDBClient({
    endpoint: h.stack.dynamoDbEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const items: unknown[] = [];
    for await (const page of paginateScan({ client }, { TableName: h.stack.tableName })) items.push(...(page.Items ?? []));
    expect(items.length).toBeGreaterThan(0);
    // Binary attributes (deflated records) are inflated by their readers; the API answers below cover them.
    return JSON.stringify(items);
  } finally {
    client.destroy();
  }
}

describe('a target that echoes the token', () => {
  it('leaves it in no escrow item, job status, provisioning record, answer or log line', async () => {
    const token = h.scimToken;
    const echoed = `Bearer ${token} is not allowed (escaped: ${token.replaceAll('/', '\\/')}, url: ${encodeURIComponent(token)})`;
    const created = await h.graph('POST', 'users', { userPrincipalName: 'echo@contoso.example', displayName: 'Echo', mailNickname: 'echo', accountEnabled: true });
    const [updated] = await h.listAll('users', 'id');
    await h.graph('PATCH', `users/${updated.id}`, { department: 'Echoed' });
    h.scim.failNext({ status: 400, times: 2, scimType: 'invalidValue', detail: echoed, match: (request) => request.method === 'POST' || request.method === 'PATCH' });
    await h.runJob(jobId, 'schedule');

    const job = await h.getJob(jobId);
    expect(JSON.stringify(job.status)).toContain('[redacted]');
    const records = await h.getV1(`/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${jobId}' and provisioningStatusInfo/status eq 'failure'`)}`);
    expect(records.body.value.map((record: { sourceIdentity: { id: string } }) => record.sourceIdentity.id).sort()).toEqual([created.id, updated.id].sort());

    h.scim.failNext({ status: 400, times: 1, detail: echoed, match: (request) => request.method === 'GET' });
    const validation = await h.api('POST', `/jobs/${jobId}/validateCredentials`, { useSavedCredentials: true });
    expect(validation.status).toBe(400);

    const everything = [await tableText(), JSON.stringify(job), JSON.stringify(records.body), JSON.stringify(validation.body), written.join('')];
    for (const text of everything) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(encodeURIComponent(token));
      expect(text).not.toContain(token.replaceAll('/', '\\/'));
    }
    expect(JSON.stringify(validation.body)).toContain('[redacted]');
  });
});
