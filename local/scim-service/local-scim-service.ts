import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../functions/ports/clock.ts';
import { IdentityCenterProfile, identityCenterRules } from './identity-center-profile.ts';
import { ScimDataFile } from './scim-data-file.ts';
import { renderScimError, ScimServiceError, badRequest, notFound } from './scim-error.ts';
import { TokenBucket, type RateLimitOptions } from './rate-limit.ts';
import { ScimResources } from './scim-resources.ts';
import {
  listQuerySchema,
  listResponseSchemaUrn,
  resourceTypeResources,
  resourceTypes,
  schemaResources,
  serviceProviderConfig,
  type ResourceEndpoint,
  type StoredResource,
} from './scim-schemas.ts';

/** Options of {@link startLocalScimService}. */
export interface LocalScimServiceOptions {
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The bearer token every request must carry. */
  token: string;
  /**
   * JSON file the state is loaded from and saved to, with its journal beside it (`<dataFile>.journal`); in memory
   * only when absent. Every change is on disk before it is answered.
   */
  dataFile?: string;
  /** Size past which the journal is compacted into `dataFile` (once it is larger than that file too); default 64 MiB. */
  compactJournalBytes?: number;
  /** Source of `meta.created` / `meta.lastModified`. */
  clock?: Clock;
  /** Largest page a list answers with, whatever `count` asks; default 1000. */
  maxPageSize?: number;
  /** Keep a log of every request (for tests that assert what was sent, and in which order). */
  recordRequests?: boolean;
  /** List answers as some targets in the field give them; a spec-compliant listing when absent. */
  listing?: ScimListingQuirks;
  /**
   * Whose rules the service follows: RFC 7644's (the default), or AWS IAM Identity Center's documented subset and
   * limits (identity-center-profile.ts), for which `listing` and `maxPageSize` do not apply.
   */
  profile?: ScimProfileName;
  /** Answer 429 with Retry-After (whole seconds) above this rate, as rate-limited SaaS targets do; unlimited when absent. */
  rateLimit?: RateLimitOptions;
}

export const scimProfileNames = ['rfc7644', 'aws-identity-center'] as const;
export type ScimProfileName = (typeof scimProfileNames)[number];

/** How list requests (`GET /Users`, `GET /Groups`) are answered, to reproduce targets seen in the field. */
export interface ScimListingQuirks {
  /** `totalResults` is the number of resources on the page, not of all matches (as scim2-server answers). */
  totalResultsIsPageSize?: boolean;
  /** A list request with `startIndex` is refused with 400, as some cursor-paging targets do. */
  refuseStartIndex?: boolean;
  /** `startIndex` is ignored: every page starts at the first resource. */
  ignoreStartIndex?: boolean;
}

/** A request as the log records it. */
export interface RecordedRequest {
  method: string;
  /** Path below the base URL with its query string, e.g. `/Users?filter=...`. */
  path: string;
  contentType: string | undefined;
  body: unknown;
  /** The status it was answered with (set once the answer is ready; a late answer may reach no one). */
  status?: number;
  /** The injected fault it met, if any. */
  fault?: Pick<ScimFault, 'status' | 'delayMs' | 'retryAfter'>;
}

/** A request as a fault's `match` sees it. */
export interface FaultRequest {
  method: string;
  /** Path below the base URL with its query string, e.g. `/Users?filter=...`. */
  path: string;
  /** The parsed JSON body (null when empty), or the raw text when it is not JSON. */
  body: unknown;
}

/**
 * Makes the next `times` requests fail with `status` (429 with `retryAfter` to test back-off, 500, 503...), or
 * answer late (`delayMs`). With `match`, only the requests it accepts meet the fault (one object's requests, say);
 * the others are served as usual. A late fault with a `status` serves nothing and sends its error after the delay;
 * without a `status` the request is served at once and only its answer is held back, so a client that times out
 * first never learns that its change was made.
 */
export interface ScimFault {
  status?: number;
  times?: number;
  /** Value of the Retry-After header: seconds or an HTTP date. */
  retryAfter?: string;
  scimType?: string;
  detail?: string;
  /** Which requests meet the fault; default every request. */
  match?: (request: FaultRequest) => boolean;
  /** Holds the answer back this long, in milliseconds. */
  delayMs?: number;
}

/** A running local SCIM service with its test hooks. */
export interface LocalScimService {
  /** Base URL of the SCIM endpoints: `http://127.0.0.1:<port>/scim/v2`. */
  url: string;
  /** Answers the next requests with a fault instead of serving them. */
  failNext(fault: ScimFault): void;
  /** Drops the faults not yet served. */
  clearFaults(): void;
  /** The requests received so far, oldest first (empty unless `recordRequests`). */
  requests(): readonly RecordedRequest[];
  clearRequests(): void;
  /** The stored resources of one type, as GET would render them. */
  resources(endpoint: ResourceEndpoint): Record<string, unknown>[];
  /** Compacts the journal into `dataFile` now (every change answered is on disk already, in one or the other). */
  flush(): Promise<void>;
  /** Stops listening, closes idle keep-alive connections and compacts the journal into `dataFile`. */
  close(): Promise<void>;
}

const basePath = '/scim/v2';

type Query = Record<string, string>;

/** An answer before it is written: a status, a JSON body (null for none) and headers. */
export interface ScimAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
type Answer = ScimAnswer;

/** An authorised request, routed: `/<collection>[/<id>]`, with `endpoint` set for Users and Groups. */
export interface ScimRoute {
  method: string;
  collection: string;
  endpoint: ResourceEndpoint | null;
  id: string | undefined;
  query: Query;
  /** The parsed JSON body, null when empty. */
  body: unknown;
  userAgent: string | undefined;
}
const contentType = 'application/scim+json';
const maxBodyBytes = 1024 * 1024;

/**
 * Starts a SCIM 2.0 service provider (RFC 7643/7644) on node:http at `/scim/v2`: Users with the enterprise
 * extension and Groups, kept in memory with indexes and optionally persisted to a JSON file. It accepts Entra's
 * request forms as well as the RFC's, and can inject faults for tests.
 */
export async function startLocalScimService(options: LocalScimServiceOptions): Promise<LocalScimService> {
  const clock = options.clock ?? systemClock;
  const maxPageSize = options.maxPageSize ?? 1000;
  const tokenDigest = digest(options.token);
  const log: RecordedRequest[] = [];
  const faults: (ScimFault & { times: number })[] = [];
  /** Answers held back by late faults: released at once when the service closes. */
  const held = new Set<() => void>();
  const hold = (ms: number) =>
    new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        held.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      held.add(release);
    });

  /** The first pending fault this request meets, counted as served. */
  function takeFault(request: FaultRequest): ScimFault | undefined {
    const index = faults.findIndex((fault) => fault.match === undefined || fault.match(request));
    const fault = faults[index];
    if (fault === undefined) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) faults.splice(index, 1);
    return fault;
  }
  const quirks = options.listing ?? {};
  const bucket = options.rateLimit ? new TokenBucket(options.rateLimit, clock) : null;

  let baseUrl = '';
  const render = (resource: StoredResource): Record<string, unknown> => ({
    ...resource,
    meta: { ...resource.meta, location: `${baseUrl}/${resourceTypes[endpointOf(resource)].endpoint}/${resource.id}` },
  });

  let file: ScimDataFile | null = null;
  const asIdentityCenter = options.profile === 'aws-identity-center';
  const rules = asIdentityCenter ? identityCenterRules() : {};
  const resources = new ScimResources(clock, maxPageSize, (change) => file?.record(change), rules);
  const identityCenter = asIdentityCenter ? new IdentityCenterProfile(resources, render, clock) : null;
  /** A SCIM error body for anything a request throws; unexpected errors are logged and answered without detail. */
  const errorAnswer = (error: unknown): Answer => {
    if (!(error instanceof ScimServiceError)) console.error('SCIM request failed', error);
    const scimError = error instanceof ScimServiceError ? error : new ScimServiceError(500, null, 'The service failed to handle the request.');
    const body = identityCenter === null ? renderScimError(scimError) : identityCenter.renderError(scimError);
    return { status: scimError.status, body, headers: scimError.headers };
  };
  if (options.dataFile !== undefined) {
    file = new ScimDataFile(options.dataFile, () => resources.snapshot(), options.compactJournalBytes ?? 64 * 1024 * 1024);
    const saved = await file.load();
    if (saved !== null) {
      resources.restore(saved.state);
      for (const change of saved.changes) resources.apply(change);
    }
    await file.open();
  }
  // Nothing is answered before the state it shows is on disk: neither a change nor a read or a refusal that saw
  // one. Otherwise a crash could take back what a client was told.
  const committed = async (answer: Answer): Promise<Answer> => {
    try {
      await file?.commit();
      return answer;
    } catch (error) {
      console.error('Saving the SCIM data failed', error);
      return errorAnswer(new ScimServiceError(500, null, 'The change could not be saved.'));
    }
  };

  function serveResource(endpoint: ResourceEndpoint, id: string | undefined, method: string, query: Query, body: unknown): Answer {
    const select = resources.selector(endpoint, query);
    if (id === undefined) {
      if (method === 'GET') {
        const listQuery = listQuerySchema.safeParse(query);
        if (!listQuery.success) throw badRequest('invalidValue', listQuery.error.message);
        if (quirks.refuseStartIndex && listQuery.data.startIndex !== undefined) {
          throw badRequest('invalidValue', 'startIndex is not supported; page with cursor.');
        }
        const request = quirks.ignoreStartIndex ? { ...listQuery.data, startIndex: 1 } : listQuery.data;
        const list = resources.list(endpoint, request, render);
        if (quirks.totalResultsIsPageSize) list.totalResults = (list.Resources as unknown[]).length;
        return { status: 200, body: list };
      }
      if (method !== 'POST') throw methodNotAllowed(method, ['GET', 'POST']);
      const created = render(resources.create(endpoint, body));
      return { status: 201, body: select(created), headers: { location: (created.meta as { location: string }).location } };
    }
    switch (method) {
      case 'GET':
        return { status: 200, body: select(render(resources.get(endpoint, id))) };
      case 'PUT':
        return { status: 200, body: select(render(resources.replace(endpoint, id, body))) };
      case 'PATCH': {
        const patched = resources.patch(endpoint, id, body);
        // Entra expects 204 for group PATCHes, whose bodies can carry thousands of members.
        if (endpoint === 'Groups' && query.attributes === undefined) return { status: 204, body: null };
        return { status: 200, body: select(render(patched)) };
      }
      case 'DELETE':
        resources.delete(endpoint, id);
        return { status: 204, body: null };
      default:
        throw methodNotAllowed(method, ['GET', 'PUT', 'PATCH', 'DELETE']);
    }
  }

  function serveDiscovery(collection: string, id: string | undefined, method: string): Answer {
    if (method !== 'GET') throw methodNotAllowed(method, ['GET']);
    if (collection === 'ServiceProviderConfig' && id === undefined) {
      return { status: 200, body: serviceProviderConfig(baseUrl, maxPageSize) };
    }
    if (collection === 'ResourceTypes') return { status: 200, body: discovery(resourceTypeResources(baseUrl), id) };
    if (collection === 'Schemas') return { status: 200, body: discovery(schemaResources(baseUrl), id) };
    throw notFound(`No SCIM endpoint /${collection}.`);
  }

  async function handle(request: IncomingMessage): Promise<Answer> {
    const url = new URL(request.url ?? '/', 'http://local');
    const method = request.method ?? 'GET';
    const text = await readBody(request);
    const parsed = parseJson(text);
    const path = `${url.pathname.slice(basePath.length)}${url.search}`;
    const body = parsed.ok ? parsed.value : text;
    const record: RecordedRequest = { method, path, contentType: request.headers['content-type'], body };
    if (options.recordRequests) log.push(record);

    // The target's own operator (a test acting behind the client's back, header `x-operator`) never meets a fault.
    const fault = request.headers['x-operator'] === undefined ? takeFault({ method, path, body: record.body }) : undefined;
    if (fault !== undefined) {
      record.fault = {
        ...(fault.status === undefined ? {} : { status: fault.status }),
        ...(fault.delayMs === undefined ? {} : { delayMs: fault.delayMs }),
        ...(fault.retryAfter === undefined ? {} : { retryAfter: fault.retryAfter }),
      };
    }
    let answer: Answer;
    try {
      const rate = fault === undefined && request.headers['x-operator'] === undefined ? bucket?.take() : undefined;
      if (rate?.allowed === false) {
        throw new ScimServiceError(429, null, 'Too many requests.', { 'retry-after': String(rate.retryAfterSeconds) });
      }
      if (fault?.status !== undefined) {
        const headers: Record<string, string> = fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
        throw new ScimServiceError(fault.status, fault.scimType ?? null, fault.detail ?? 'Injected fault.', headers);
      }
      answer = serve(request, url, method, parsed);
    } catch (error) {
      answer = errorAnswer(error);
    }
    answer = await committed(answer);
    if (fault?.delayMs !== undefined) await hold(fault.delayMs);
    record.status = answer.status;
    return answer;
  }

  function serve(request: IncomingMessage, url: URL, method: string, parsed: ReturnType<typeof parseJson>): Answer {
    if (!authorised(request.headers.authorization, tokenDigest)) {
      throw new ScimServiceError(401, null, 'A valid bearer token is required.', { 'www-authenticate': 'Bearer realm="scim"' });
    }
    const [collection, id] = routeSegments(url.pathname);
    const endpoint = resourceEndpoint(collection);
    if (endpoint !== null && !parsed.ok) throw badRequest('invalidSyntax', `The request body is not JSON: ${parsed.error}`);
    const route: ScimRoute = {
      method,
      collection,
      endpoint,
      id,
      query: Object.fromEntries(url.searchParams),
      body: parsed.ok ? parsed.value : null,
      userAgent: request.headers['user-agent'],
    };
    return identityCenter === null ? serveRoute(route) : identityCenter.serve(route, serveRoute);
  }

  function serveRoute({ method, collection, endpoint, id, query, body }: ScimRoute): Answer {
    if (endpoint === null) return serveDiscovery(collection, id, method);
    return serveResource(endpoint, id, method, query, body);
  }

  const server = createServer((request, response) => {
    void handle(request)
      .catch(errorAnswer)
      .then(({ status, body, headers }) => send(response, status, body, headers))
      // An answer that cannot be written (a body that does not serialise, a closed socket) drops the connection.
      .catch(() => response.destroy());
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  baseUrl = `http://${host}:${address.port}${basePath}`;

  return {
    url: baseUrl,
    failNext: (fault) => faults.push({ ...fault, times: fault.times ?? 1 }),
    clearFaults: () => void faults.splice(0),
    requests: () => log,
    clearRequests: () => void log.splice(0),
    resources: (endpoint) => resources.snapshot()[endpoint].map(render),
    flush: async () => file?.compact(),
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const release of [...held]) release();
      server.closeAllConnections();
      await closed;
      await file?.close();
    },
  };
}

/** `/scim/v2/<collection>[/<id>]` split into its two segments; anything else is not an endpoint. */
function routeSegments(pathname: string): [string, string | undefined] {
  const segments = pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length + 1).split('/') : [];
  const [collection, id, ...rest] = segments;
  if (collection === undefined || collection === '' || rest.length > 0) throw notFound(`No SCIM endpoint at ${pathname}.`);
  try {
    return [decodeURIComponent(collection), id === undefined || id === '' ? undefined : decodeURIComponent(id)];
  } catch {
    throw notFound(`No SCIM endpoint at ${pathname}.`);
  }
}

function endpointOf(resource: StoredResource): ResourceEndpoint {
  return resource.meta.resourceType === resourceTypes.Groups.name ? 'Groups' : 'Users';
}

function resourceEndpoint(segment: string): ResourceEndpoint | null {
  const lower = segment.toLowerCase();
  if (lower === 'users') return 'Users';
  if (lower === 'groups') return 'Groups';
  return null;
}

function discovery(documents: Record<string, unknown>[], id: string | undefined): Record<string, unknown> {
  if (id === undefined) {
    return {
      schemas: [listResponseSchemaUrn],
      totalResults: documents.length,
      startIndex: 1,
      itemsPerPage: documents.length,
      Resources: documents,
    };
  }
  const found = documents.find((document) => String(document.id).toLowerCase() === id.toLowerCase());
  if (found === undefined) throw notFound(`${id} not found.`);
  return found;
}

function methodNotAllowed(method: string, allowed: string[]): ScimServiceError {
  return new ScimServiceError(405, null, `${method} is not allowed here.`, { allow: allowed.join(', ') });
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

// Comparing digests keeps the comparison constant-time whatever the presented token's length.
function authorised(header: string | undefined, tokenDigest: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1] as string), tokenDigest);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) throw new ScimServiceError(413, 'tooLarge', `The request body exceeds ${maxBodyBytes} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (text === '') return { ok: true, value: null };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  // A late answer whose client gave up (timed out) has no one to go to.
  if (response.destroyed) return;
  if (body === null) {
    response.writeHead(status, headers).end();
    return;
  }
  const text = JSON.stringify(body);
  response
    .writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers })
    .end(text);
}
