import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID } from '../../local/local-auth.ts';
import { startTestStack, syncPath, type ApiResponse, type TestStack } from '../support/local-stack.ts';
import { requestArbitrary, resolvePath, type AuthKind, type FuzzRequest, type FuzzWorld } from './api-requests.ts';
import { changesBetween, jobsIn, stateReader, type StoredState } from './tenant-state.ts';

/**
 * Fuzzes every route of the API through the local stack (docs/fuzzing.md): fast-check generates requests (paths
 * with valid, malformed, unknown and other tenants' ids, OData segments, query junk; methods; headers and tokens;
 * bodies of every route's shape and mutations of them), one request per run, all runs against one stack whose
 * state carries over. After each request:
 * - no 5xx, ever;
 * - every 4xx is Graph's error body with `content-type: application/json`, as functions/http/graph-error.ts renders it;
 * - a 4xx, and a read (GET, HEAD, OPTIONS, parseExpression, validateCredentials), changes nothing: every table item
 *   and every schedule is compared with the state before it (worker runs a start set off are let finish first);
 * - a caller without write permission never gets a 2xx for a write, a bad token never gets past 401;
 * - a request changes only its own tenant's items and schedules.
 *
 * `npm test` sends a few hundred requests with a fixed seed. A long run:
 *   FUZZ_RUNS=10000 FUZZ_SEED=random npx vitest run test/fuzz
 * prints its seed and count; `FUZZ_SEED=<n>` (with the same FUZZ_RUNS) replays it from a fresh stack, FUZZ_VERBOSE=1
 * prints every request and its answer, FUZZ_SHRINK=1 shrinks a failure (slow: each try is a request).
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === 'random' ? undefined : Number(process.env.FUZZ_SEED ?? 20260315);
/** A long run must outlive vitest's default test timeout; roughly 60 ms a request on a shared 2-core machine. */
const TIMEOUT_MS = 60_000 + RUNS * 200;

const SP = 'fuzz-app';
const SHARED_SP = 'shared-app';
const TENANT_B = '00000000-0000-4000-8000-00000000000b';
const MIN_JOBS = 3;
const READ_ROUTES = /\/(parseExpression|validateCredentials)$/;

let t: TestStack;
let state: ReturnType<typeof stateReader>;
let tokens: Record<AuthKind, string | null>;
let world: FuzzWorld;

beforeAll(async () => {
  t = await startTestStack();
  state = stateReader(t);
  const rw = ['Synchronization.ReadWrite.All'];
  tokens = {
    readWrite: `Bearer ${t.token}`,
    lowerCaseScheme: `bearer ${t.token}`,
    readOnly: `Bearer ${await t.issueToken({ readOnly: true })}`,
    otherTenant: `Bearer ${await t.issueToken({ tenantId: TENANT_B })}`,
    none: null,
    garbage: 'Bearer not-a-jwt',
    expired: `Bearer ${await t.issueToken({ lifetime: -60 })}`,
    wrongAudience: `Bearer ${await t.signToken({ tid: LOCAL_TENANT_ID, roles: rw }, { audience: 'api://other' })}`,
    noTenant: `Bearer ${await t.signToken({ roles: rw })}`,
    badTenant: `Bearer ${await t.signToken({ tid: "x' or 1=1", roles: rw })}`,
    noRoles: `Bearer ${await t.signToken({ tid: LOCAL_TENANT_ID })}`,
    auditLogOnly: `Bearer ${await t.signToken({ tid: LOCAL_TENANT_ID, roles: ['AuditLog.Read.All'] })}`,
    delegatedReadWrite: `Bearer ${await t.signToken({ tid: LOCAL_TENANT_ID, scp: 'Synchronization.ReadWrite.All' })}`,
    basic: `Basic ${Buffer.from('user:password').toString('base64')}`,
    bearerOnly: 'Bearer',
  };
  // Both tenants own jobs under the same service principal id; the fuzz app's target is the local SCIM service.
  const secrets = { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: t.stack.scimToken }] };
  for (const [token, sp] of [[t.token, SP], [t.token, SP], [t.token, SHARED_SP], [tokens.otherTenant!.slice(7), SHARED_SP]] as const) {
    expect((await t.api('POST', syncPath(sp, '/jobs'), { token, body: { templateId: 'scim' } })).status).toBe(201);
    expect((await t.api('PUT', syncPath(sp, '/secrets'), { token, body: secrets })).status).toBe(204);
  }
  const first = (await t.api('GET', syncPath(SP, '/jobs'))).json.value[0].id as string;
  expect((await t.api('POST', syncPath(SP, `/jobs/${first}/start`))).status).toBe(204);
  const schema = (await t.api('GET', syncPath(SP, `/jobs/${first}/schema`))).json;
  world = {
    servicePrincipals: [SP, SHARED_SP, 'other-app'],
    jobs: [],
    deletedJobs: [],
    scimUrl: t.stack.scimUrl,
    scimToken: t.stack.scimToken,
    templateSchema: schema,
    ruleIds: schema.synchronizationRules.map((rule: { id: string }) => rule.id),
  };
});

afterAll(async () => {
  state?.close();
  await t?.close();
});

/** Settled state: runs a start set off are part of that start's change, not of the next request's. */
async function settledState(): Promise<StoredState> {
  await t.stack.workerRunsSettled();
  return state.read();
}

/** The jobs to aim at: both tenants', and the ones deleted so far (`seen` keeps their ids in play). */
function refresh(current: StoredState, seen: Set<string>): FuzzWorld {
  const jobs = jobsIn(current);
  const live = new Set(jobs.map((job) => `${job.servicePrincipalId}/${job.jobId}`));
  const deletedJobs = [...seen].filter((key) => !live.has(key)).map((key) => {
    const [servicePrincipalId, jobId] = key.split('/') as [string, string];
    return { servicePrincipalId, jobId };
  });
  for (const key of live) seen.add(key);
  const servicePrincipals = [...new Set([SP, SHARED_SP, 'other-app', ...jobs.map((job) => job.servicePrincipalId)])];
  return { ...world, servicePrincipals, jobs, deletedJobs };
}

/**
 * Deletes succeed far more often than generated creates, so the tenant's jobs would die out and every id would be
 * a 404: below the floor one is created (before the request, so the state it is compared with includes it).
 */
async function keepJobsAround(current: StoredState): Promise<boolean> {
  if (jobsIn(current).filter((job) => job.tenantId === LOCAL_TENANT_ID).length >= MIN_JOBS) return false;
  expect((await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim' } })).status).toBe(201);
  return true;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CAN_WRITE = new Set<AuthKind>(['readWrite', 'lowerCaseScheme', 'otherTenant', 'delegatedReadWrite']);
/** Refused by the token check, first thing in every function but the status page's and the webhook's. */
const NOT_A_TOKEN = new Set<AuthKind>(['none', 'garbage', 'expired', 'wrongAudience', 'basic', 'bearerOnly']);
/** Signed and valid but with no usable tenant: refused by the token check, or first by what is answered before a handler (a malformed path). */
const NO_TENANT = new Set<AuthKind>(['noTenant', 'badTenant']);

function tenantOf(auth: AuthKind): string | null {
  if (auth === 'otherTenant') return TENANT_B;
  return NOT_A_TOKEN.has(auth) || NO_TENANT.has(auth) ? null : LOCAL_TENANT_ID;
}

function expectGraphError(response: ApiResponse, sentClientRequestId: string | undefined, label: string): void {
  expect(response.headers.get('content-type'), label).toBe('application/json');
  expect(response.json, label).toEqual({
    error: {
      code: expect.stringMatching(/^\w+$/),
      message: expect.stringMatching(/\S/),
      innerError: {
        date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/),
        'request-id': expect.stringMatching(/^[\w-]+$/),
        'client-request-id': expect.any(String),
      },
    },
  });
  expect(response.headers.get('request-id'), label).toBe(response.json.error.innerError['request-id']);
  expect(response.headers.get('client-request-id'), label).toBe(response.json.error.innerError['client-request-id']);
  if (sentClientRequestId !== undefined && /^[\w-]{1,64}$/.test(sentClientRequestId)) {
    expect(response.json.error.innerError['client-request-id'], label).toBe(sentClientRequestId);
  }
}

/** Sends one request as described and checks the answer and the state after it against the state before. */
async function check(request: FuzzRequest, before: StoredState, current: FuzzWorld, statuses: Map<number, number>): Promise<StoredState> {
  const path = resolvePath(request, current);
  const { method } = request;
  const headers = { ...request.headers, ...(tokens[request.auth] === null ? {} : { authorization: tokens[request.auth]! }) };
  const body = request.body.kind === 'none' ? undefined : request.body.kind === 'raw' ? request.body.text : JSON.stringify(request.body.value);
  const response = await t.api(method, path, { token: null, headers, body });
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  const label = `${method} ${path} (${request.auth}) → ${response.status} ${response.text.slice(0, 300)}`;
  if (process.env.FUZZ_VERBOSE) console.info(label.slice(0, 400));
  const pathname = new URL(`${t.stack.apiUrl}${path}`).pathname;
  const statusPage = pathname === '/' && (method === 'GET' || method === 'HEAD');
  // Graph's webhook takes no token (a notification proves itself by its clientState) and answers the handshake
  // in text: only the rules for every route apply to it.
  const webhook = pathname === '/notifications' && method === 'POST';

  expect(response.status, label).toBeLessThan(500);
  if (response.status >= 400 && method !== 'HEAD') expectGraphError(response, request.headers['client-request-id'], label);
  if (response.status >= 400 && method === 'HEAD') expect(response.headers.get('content-type'), label).toBe('application/json');
  if (response.status < 300 && response.text !== '' && !statusPage && !webhook) expect(response.json, `${label}: a 2xx body is JSON`).toBeDefined();
  if (NOT_A_TOKEN.has(request.auth) && !statusPage && !webhook) expect(response.status, label).toBe(401);
  if (NO_TENANT.has(request.auth) && !statusPage && !webhook) expect([400, 401, 404, 405], label).toContain(response.status);
  if (webhook && response.status === 200) expect(response.headers.get('content-type'), label).toMatch(/^text\/plain/);
  if (WRITE_METHODS.has(method) && !CAN_WRITE.has(request.auth) && !webhook) expect(response.status, `${label}: a write without write permission`).toBeGreaterThanOrEqual(400);

  const after = await settledState();
  const changes = changesBetween(before, after);
  // No generated notification carries a real clientState, so none may change anything.
  const reads = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || READ_ROUTES.test(pathname) || webhook;
  if (response.status >= 400 || reads) {
    expect(changes, `${label}: ${response.status >= 400 ? 'a refused request' : 'a read'} changed the state`).toEqual([]);
  }
  const tenant = tenantOf(request.auth);
  const foreign = changes.filter((change) => tenant === null || !`${change.what} ${change.detail}`.includes(tenant));
  expect(foreign, `${label}: changed another tenant's state`).toEqual([]);
  return after;
}

describe('the API under fuzzed requests', () => {
  it(
    `answers ${RUNS} generated requests without a 5xx, with Graph errors, and changes nothing it refuses`,
    async () => {
      const seed = SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
      let sent = 0;
      const statuses = new Map<number, number>();
      let before = await settledState();
      const seen = new Set<string>();
      let current: FuzzWorld;
      try {
        await fc.assert(
          fc.asyncProperty(requestArbitrary(world), async (request) => {
            sent += 1;
            if (await keepJobsAround(before)) before = await settledState();
            current = refresh(before, seen);
            try {
              before = await check(request, before, current, statuses);
            } catch (error) {
              // A failed check may have left the state changed: the next request (or shrink) starts from what is.
              before = await settledState();
              throw error;
            }
          }),
          { numRuns: RUNS, seed, endOnFailure: process.env.FUZZ_SHRINK === undefined },
        );
      } finally {
        const answered = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
        console.info(`api fuzz seed ${seed}: ${sent} request(s) sent, answered ${answered} (replay: FUZZ_SEED=${seed} FUZZ_RUNS=${RUNS})`);
      }
    },
    TIMEOUT_MS,
  );
});
