import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../functions/ports/clock.ts';
import { SchedulerApiError } from './scheduler-api-error.ts';
import { ScheduleRegistry } from './schedule-registry.ts';
import { listInputSchema, parseMembers, scheduleInputSchema, scheduleKeyInputSchema } from './wire-model.ts';
import { matchRequest, type OperationName } from './wire-routes.ts';

/** How to run the emulator; only `clock` and `invoke` are required. */
export interface SchedulerEmulatorOptions {
  /** Defaults to 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** JSON file that keeps the schedules across restarts; without one they live in memory only. */
  dataFile?: string;
  /** Schedule groups that exist besides `default`. */
  groups?: string[];
  region?: string;
  accountId?: string;
  clock: Clock;
  /** Hands one tick to its target, e.g. by starting the sync worker; a rejection is retried per the RetryPolicy. */
  invoke: (targetArn: string, input: string) => Promise<void>;
  /** Answers ThrottlingException beyond this many API calls per second (by `clock`); unlimited when absent. */
  requestsPerSecond?: number;
}

export interface SchedulerEmulator {
  /** The endpoint to give `SchedulerClient`. */
  url: string;
  close(): Promise<void>;
  /** Fires what is due by `clock` now and returns how many invocations it made. */
  runDue(): Promise<number>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * An EventBridge Scheduler endpoint on loopback that speaks the service's restJson1 protocol, so an unmodified
 * `SchedulerClient` can create, read, replace, list and delete schedules, while `runDue()` fires them by `clock`.
 */
export async function startSchedulerEmulator(options: SchedulerEmulatorOptions): Promise<SchedulerEmulator> {
  const registry = new ScheduleRegistry({
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    groups: options.groups ?? [],
    clock: options.clock,
    invoke: options.invoke,
    dataFile: options.dataFile,
  });
  const admit = options.requestsPerSecond === undefined ? () => true : rateLimiter(options.requestsPerSecond, options.clock);

  const operations: Record<OperationName, (members: unknown) => unknown> = {
    CreateSchedule: (members) => registry.create(parseMembers(scheduleInputSchema, members)),
    UpdateSchedule: (members) => registry.update(parseMembers(scheduleInputSchema, members)),
    GetSchedule: (members) => registry.get(parseMembers(scheduleKeyInputSchema, members)),
    DeleteSchedule: (members) => registry.delete(parseMembers(scheduleKeyInputSchema, members)),
    ListSchedules: (members) => registry.list(parseMembers(listInputSchema, members)),
  };

  const server = createServer((request, response) => {
    handle(request)
      .then((body) => send(response, 200, body))
      .catch((error: unknown) => {
        if (error instanceof SchedulerApiError) {
          send(response, error.statusCode, { Message: error.message }, error.type);
        } else {
          send(response, 500, { Message: 'Internal server error' }, 'InternalServerException');
        }
      });
  });

  async function handle(request: IncomingMessage): Promise<unknown> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const matched = matchRequest(request.method ?? 'GET', url);
    if (!matched) {
      throw new SchedulerApiError('UnknownOperationException', `No operation at ${request.method} ${url.pathname}.`);
    }
    const body = await readJson(request);
    if (!admit()) throw new SchedulerApiError('ThrottlingException', 'Rate exceeded.');
    // Label and query members win over body members of the same name, as the HTTP bindings place them there.
    return operations[matched.route.operation]({ ...body, ...matched.members });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    runDue: () => registry.runDue(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(response: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  response.end(text);
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new SchedulerApiError('ValidationException', 'Request body is too large.');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SchedulerApiError('SerializationException', 'The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SchedulerApiError('SerializationException', 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/** A token bucket refilled by `clock`, so tests can drive throttling without waiting. */
function rateLimiter(perSecond: number, clock: Clock): () => boolean {
  let tokens = perSecond;
  let last = clock.now().getTime();
  return () => {
    const now = clock.now().getTime();
    tokens = Math.min(perSecond, tokens + ((now - last) / 1000) * perSecond);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}
