import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Clock } from '../../functions/ports/clock.ts';
import { issueLocalToken, LOCAL_TENANT_ID, signLocalToken, type SignOptions, type TokenOptions } from '../../local/local-auth.ts';
import { localEnvSchema, type LocalEnv } from '../../local/local-config.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';

/** A parsed HTTP answer: status, lower-cased headers, raw text and the JSON body when there is one. */
export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // Tests read arbitrary Graph JSON; each asserts the shape it cares about.
  json: any;
}

export interface ApiRequestOptions {
  /** Bearer token; defaults to a read-write token of the local tenant, `null` sends no Authorization header. */
  token?: string | null;
  /** A string is sent as is (malformed JSON, oversized bodies); anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestStackOptions {
  /** Reuse a data directory (restart tests); a fresh temp directory otherwise. */
  dataDir?: string;
  /** Keep DynamoDB on disk in the data directory (restart tests). */
  onDisk?: boolean;
  /** The Scheduler emulator's (and the local directory's and SCIM service's) clock; the wall clock by default. */
  clock?: Clock;
  /** JOB_PURGE_SETTLE_SECONDS of the stack's functions (see LocalStackOptions). */
  purgeSettleSeconds?: number;
  /** Jobs subscribe to the local directory's change notifications (see LocalStackOptions). */
  changeNotifications?: boolean;
  /** Users and groups the directory is seeded with; 3 and 1 by default. */
  seed?: { users: number; groups: number };
  /** Fixed ports (a restart reuses the previous ones, since API containers keep their SDK endpoints). */
  ports?: Partial<Pick<LocalEnv, 'PORT' | 'HTTPS_PORT' | 'DYNAMODB_PORT' | 'SOURCE_PORT' | 'SCIM_PORT' | 'SCHEDULER_PORT' | 'LAMBDA_PORT' | 'LOGIN_PORT'>>;
  /** LOCAL_TENANTS and LOCAL_APP_IDS of the stack: any tenant and any app by default. */
  tenants?: string;
  appIds?: string;
}

export interface TestStack {
  stack: LocalStack;
  dataDir: string;
  /** The default tenant's read-write token. */
  token: string;
  /** Signs a token with the stack's key (other tenant, read-only, short lifetime). */
  issueToken: (options?: TokenOptions) => Promise<string>;
  /** Signs any claims with the stack's own key, so only the claim under test is wrong (audience, lifetime, issuer too). */
  signToken: (claims: Record<string, unknown>, options?: SignOptions) => Promise<string>;
  /** Calls the API; `apiPath` is relative to `/v1.0`, e.g. `/servicePrincipals/sp/synchronization/jobs`. */
  api: (method: string, apiPath: string, options?: ApiRequestOptions) => Promise<ApiResponse>;
  /** A real SDK client pointed at the stack's Scheduler emulator. */
  scheduler: SchedulerClient;
  /** The ports in use, to restart on the same ones. */
  ports: Required<NonNullable<TestStackOptions['ports']>>;
  /** Stops the stack; `keepData` leaves the data directory for a restart. */
  close: (keepData?: boolean) => Promise<void>;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Every service of the local stack on loopback, each on a port the OS picks. */
export const EPHEMERAL_PORTS = {
  HOST: '127.0.0.1',
  PORT: 0,
  HTTPS_PORT: 0,
  DYNAMODB_PORT: 0,
  SOURCE_PORT: 0,
  SCIM_PORT: 0,
  SCHEDULER_PORT: 0,
  LAMBDA_PORT: 0,
  LOGIN_PORT: 0,
} as const;

/**
 * Starts the whole local stack for one test file: ephemeral loopback ports, a temp data directory, in-memory
 * DynamoDB unless `onDisk`, no scheduler timer (tests call `stack.runDueSchedules()`), a small seeded directory.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'graph-sync-api-')));
  const env = localEnvSchema.parse({
    ...EPHEMERAL_PORTS,
    LOCAL_SEED_USERS: options.seed?.users ?? 3,
    LOCAL_SEED_GROUPS: options.seed?.groups ?? 1,
    ...options.ports,
  });
  const stack = await startLocalStack({
    ...env,
    dataDir,
    schedulerTimer: false,
    inMemoryDynamoDb: !options.onDisk,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.purgeSettleSeconds === undefined ? {} : { purgeSettleSeconds: options.purgeSettleSeconds }),
    ...(options.changeNotifications ? { changeNotifications: true } : {}),
    ...(options.tenants ? { LOCAL_TENANTS: options.tenants } : {}),
    ...(options.appIds ? { LOCAL_APP_IDS: options.appIds } : {}),
  });
  const token = await issueLocalToken(dataDir, { tenantId: LOCAL_TENANT_ID });
  const scheduler = new SchedulerClient({
    endpoint: stack.schedulerUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

  async function api(method: string, apiPath: string, request: ApiRequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...request.headers };
    const bearer = request.token === undefined ? token : request.token;
    if (bearer !== null) headers.authorization = `Bearer ${bearer}`;
    let body: string | undefined;
    if (request.body !== undefined) {
      body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${stack.apiUrl}${apiPath}`, { method, headers, body });
    const text = await response.text();
    let json: unknown = undefined;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  return {
    stack,
    dataDir,
    token,
    issueToken: (tokenOptions) => issueLocalToken(dataDir, tokenOptions),
    signToken: (claims, signOptions) => signLocalToken(dataDir, claims, signOptions),
    api,
    scheduler,
    ports: {
      PORT: portOf(stack.apiUrl),
      HTTPS_PORT: portOf(stack.httpsApiUrl),
      DYNAMODB_PORT: portOf(stack.dynamoDbEndpoint),
      SOURCE_PORT: portOf(stack.directoryUrl),
      SCIM_PORT: portOf(stack.scimUrl),
      SCHEDULER_PORT: portOf(stack.schedulerUrl),
      LAMBDA_PORT: Number(new URL(process.env.LAMBDA_ENDPOINT ?? 'http://x:0').port),
      LOGIN_PORT: portOf(stack.identity.loginBaseUrl),
    },
    close: async (keepData = false) => {
      scheduler.destroy();
      await stack.close();
      if (!keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The API path of a service principal's synchronization resource. */
export function syncPath(servicePrincipalId: string, rest = ''): string {
  return `/servicePrincipals/${servicePrincipalId}/synchronization${rest}`;
}
