import type { LookupFunction } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { quoteFilterValue } from '../../domain/mapping/scim-resource.ts';
import { systemClock, type Clock } from '../../ports/clock.ts';
import {
  ScimRequestError,
  TargetUnavailableError,
  type ScimListPage,
  type ScimPatchOperation,
  type ScimResource,
  type ScimResourceType,
  type ScimTarget,
} from '../../ports/scim-target.ts';

export { quoteFilterValue };

/** Options of {@link HttpScimTarget}. */
export interface HttpScimTargetOptions {
  /** The tenant URL (BaseAddress), e.g. `https://app.example.com/scim/v2`. */
  baseUrl: string;
  /** The SecretToken, sent as `Authorization: Bearer`. */
  token: string;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  /** Retries of a 429, 5xx, timeout or dropped connection before giving up; default 4. */
  maxRetries?: number;
  /** Connection pool; default a keep-alive Agent owned (and closed) by this target. */
  dispatcher?: Dispatcher;
  /** Connections of the default Agent; default 16. */
  connections?: number;
  /** Resolves host names for the default Agent (e.g. refusing non-public addresses); default DNS. */
  lookup?: LookupFunction;
  /** Waits between retries; injectable so that tests never wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Reads "now" for Retry-After given as an HTTP date. */
  clock?: Clock;
  /** Uniform [0, 1) source for back-off jitter. */
  random?: () => number;
  /** First back-off step; doubles per retry. Default 500 ms. */
  baseDelayMs?: number;
  /** Longest wait between two attempts; a longer Retry-After ends the retries at once. Default 30 s. */
  maxDelayMs?: number;
}

const patchOpSchemaUrn = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimJson = 'application/scim+json';

const resourceSchema = z.looseObject({ id: z.string().min(1) });

const listResponseSchema = z.object({
  totalResults: z.number().int().min(0),
  Resources: z.array(resourceSchema).optional(),
});

const errorBodySchema = z.looseObject({
  scimType: z.string().optional(),
  detail: z.string().optional(),
});

/** Attribute paths as SCIM writes them (RFC 7644 §3.10), with an optional schema URN prefix. */
const attributePathPattern = /^[A-Za-z0-9:._$-]+$/;

/** Error codes of a target that cannot be reached at all, or whose certificate we refuse. */
const unreachableCodes = new Set(['ENOTALLOWED', 'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_NONAME']);
const tlsCodePattern = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/;

interface ScimResponse {
  status: number;
  body: unknown;
}

/**
 * {@link ScimTarget} over HTTP with undici: keep-alive connections, `application/scim+json`, RFC 7644 request forms,
 * back-off with jitter for 429/5xx honouring Retry-After, and a timeout per request. Failures are typed:
 * credentials refused or target unreachable → {@link TargetUnavailableError}; anything else the target refuses or
 * cannot serve after retries → {@link ScimRequestError}.
 */
export class HttpScimTarget implements ScimTarget {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  /** Until when the target asked everyone to hold off (epoch ms): one 429 pauses every request, not just its own. */
  private holdUntil = 0;

  constructor(private readonly options: HttpScimTargetOptions) {
    const base = new URL(options.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connections: options.connections ?? 16,
        keepAliveTimeout: 30_000,
        ...(options.lookup ? { connect: { lookup: options.lookup } } : {}),
      });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = options.maxRetries ?? 4;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  async list(type: ScimResourceType, attributes: string[], startIndex: number, count: number): Promise<ScimListPage> {
    attributes.forEach(assertAttributePath);
    const query = new URLSearchParams({ startIndex: String(startIndex), count: String(count) });
    if (attributes.length > 0) query.set('attributes', attributes.join(','));
    const { body } = await this.send('GET', `/${type}?${query}`);
    const page = parseList(body, `GET /${type}`);
    return { resources: page.Resources ?? [], totalResults: page.totalResults };
  }

  async findBy(type: ScimResourceType, attribute: string, value: string): Promise<ScimResource | null> {
    assertAttributePath(attribute);
    const query = new URLSearchParams({ filter: `${attribute} eq ${quoteFilterValue(value)}` });
    // Entra's own group lookups leave members out: a large group's member list is not needed to match it.
    if (type === 'Groups') query.set('excludedAttributes', 'members');
    const { body } = await this.send('GET', `/${type}?${query}`);
    const page = parseList(body, `GET /${type}?filter`);
    const [first] = page.Resources ?? [];
    if (page.totalResults > 0 && first === undefined) {
      throw new ScimRequestError(`GET /${type}?filter reported ${page.totalResults} matches but returned none`, 200);
    }
    return first ?? null;
  }

  async get(type: ScimResourceType, id: string): Promise<ScimResource | null> {
    const query = type === 'Groups' ? '?excludedAttributes=members' : '';
    const { status, body } = await this.send('GET', `/${type}/${encodeURIComponent(id)}${query}`, undefined, { notFoundIsDone: true });
    if (status === 404) return null;
    const parsed = resourceSchema.safeParse(body);
    if (!parsed.success) throw new ScimRequestError(`GET /${type}/{id} answered ${status} without a resource`, status);
    return parsed.data;
  }

  async create(type: ScimResourceType, resource: Record<string, unknown>): Promise<ScimResource> {
    const { status, body } = await this.send('POST', `/${type}`, rfcResource(resource));
    const parsed = resourceSchema.safeParse(body);
    if (!parsed.success) throw new ScimRequestError(`POST /${type} answered ${status} without a resource id`, status);
    return parsed.data;
  }

  async patch(type: ScimResourceType, id: string, operations: ScimPatchOperation[]): Promise<void> {
    const body = { schemas: [patchOpSchemaUrn], Operations: operations.map(rfcOperation) };
    await this.send('PATCH', `/${type}/${encodeURIComponent(id)}`, body);
  }

  async delete(type: ScimResourceType, id: string): Promise<void> {
    await this.send('DELETE', `/${type}/${encodeURIComponent(id)}`, undefined, { notFoundIsDone: true });
  }

  /** Closes the connection pool when this target created it. */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  private async send(
    method: string,
    path: string,
    body?: unknown,
    { notFoundIsDone = false } = {},
  ): Promise<ScimResponse> {
    const what = `${method} ${path.split('?')[0]}`;
    for (let attempt = 0; ; attempt += 1) {
      const wait = this.holdUntil - this.clock.now().getTime();
      if (wait > 0) await this.sleep(wait);
      const outcome = await this.attempt(method, path, body, what);
      if ('response' in outcome) {
        const { status } = outcome.response;
        if (status >= 200 && status < 300) return outcome.response;
        if (status === 404 && notFoundIsDone) return outcome.response;
        if (status === 401 || status === 403) {
          throw new TargetUnavailableError(`${what}: the target refused the credentials (${status})`);
        }
        if (status !== 429 && status < 500) throw requestError(what, outcome.response);
      }
      const delay = outcome.retryAfterMs ?? this.backoff(attempt);

      if (attempt >= this.maxRetries || delay > this.maxDelayMs) {
        if ('response' in outcome) throw requestError(what, outcome.response, attempt);
        throw new ScimRequestError(`${what}: ${outcome.failure} (after ${attempt + 1} attempts)`, 0);
      }
      if ('response' in outcome && outcome.response.status === 429) {
        // A throttled target is throttled for every request of this job: the others hold off too instead of
        // piling on (the wait happens at the top of the loop, shared through holdUntil).
        this.holdUntil = Math.max(this.holdUntil, this.clock.now().getTime() + delay);
      } else {
        await this.sleep(delay);
      }
    }
  }

  private async attempt(
    method: string,
    path: string,
    body: unknown,
    what: string,
  ): Promise<{ response: ScimResponse; retryAfterMs: number | null } | { failure: string; retryAfterMs: null }> {
    let response: Dispatcher.ResponseData;
    try {
      // dispatcher.request follows no redirect (one could carry the bearer token elsewhere) and skips fetch's
      // web-stream machinery: an initial sync makes thousands of these requests.
      response = await this.dispatcher.request({
        origin: this.origin,
        path: `${this.basePath}${path}`,
        method: method as Dispatcher.HttpMethod,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: `${scimJson}, application/json`,
          ...(body === undefined ? {} : { 'content-type': scimJson }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const unavailable = unavailableReason(error);
      if (unavailable !== null) throw new TargetUnavailableError(`${what}: ${unavailable}`);
      return { failure: describe(error), retryAfterMs: null };
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      return { failure: describe(error), retryAfterMs: null };
    }
    const retryAfter = response.headers['retry-after'];
    return {
      response: { status: response.statusCode, body: parseBody(text) },
      retryAfterMs: this.retryAfterMs(Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null)),
    };
  }

  /** Exponential back-off with full jitter: uniform in [0, base·2^attempt], capped at maxDelayMs. */
  private backoff(attempt: number): number {
    return Math.round(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** attempt));
  }

  /** Retry-After in delta-seconds or as an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
  private retryAfterMs(header: string | null): number | null {
    if (header === null || header.trim() === '') return null;
    if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
    const date = Date.parse(header);
    if (Number.isNaN(date)) return null;
    return Math.max(0, date - this.clock.now().getTime());
  }
}

function assertAttributePath(attribute: string): void {
  if (!attributePathPattern.test(attribute)) throw new Error(`Not a SCIM attribute path: ${attribute}`);
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function parseList(body: unknown, what: string): z.infer<typeof listResponseSchema> {
  const parsed = listResponseSchema.safeParse(body);
  // A list we cannot read must never pass for an empty one: the engine would then create or delete wrongly.
  if (!parsed.success) throw new ScimRequestError(`${what} answered something other than a ListResponse`, 200);
  return parsed.data;
}

function requestError(what: string, response: ScimResponse, retries = 0): ScimRequestError {
  const parsed = errorBodySchema.safeParse(response.body);
  const scimType = parsed.success ? (parsed.data.scimType ?? null) : null;
  const detail = parsed.success && parsed.data.detail !== undefined ? `: ${parsed.data.detail}` : '';
  const after = retries > 0 ? ` after ${retries + 1} attempts` : '';
  return new ScimRequestError(`${what} answered ${response.status}${after}${detail}`, response.status, scimType);
}

/** The reason a target is unreachable (DNS, refused connection, TLS), or null for transient failures. */
function unavailableReason(error: unknown): string | null {
  for (const code of errorCodes(error)) {
    if (unreachableCodes.has(code)) return `the target cannot be reached (${code})`;
    if (tlsCodePattern.test(code)) return `the target's TLS certificate was refused (${code})`;
  }
  return null;
}

function errorCodes(error: unknown, depth = 0): string[] {
  if (typeof error !== 'object' || error === null || depth > 5) return [];
  const codes: string[] = [];
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') codes.push(code);
  codes.push(...errorCodes(cause, depth + 1));
  if (Array.isArray(errors)) for (const inner of errors) codes.push(...errorCodes(inner, depth + 1));
  return codes;
}

function describe(error: unknown): string {
  const codes = errorCodes(error);
  if (codes.some((code) => code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')) return 'the request timed out';
  return codes.length > 0 ? `the connection failed (${codes.join(', ')})` : `the request failed (${String(error)})`;
}

function isActivePath(path: string): boolean {
  return /^(urn:ietf:params:scim:schemas:core:2\.0:User:)?active$/i.test(path);
}

/** `"True"`/`"False"` (Entra's default form) as the boolean RFC 7643 defines for `active`. */
function rfcBoolean(value: unknown): unknown {
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return value;
}

function rfcResource(resource: Record<string, unknown>): Record<string, unknown> {
  return 'active' in resource ? { ...resource, active: rfcBoolean(resource.active) } : resource;
}

function rfcOperation(operation: ScimPatchOperation): ScimPatchOperation {
  const op = operation.op.toLowerCase() as ScimPatchOperation['op'];
  if (operation.path !== undefined && isActivePath(operation.path)) return { ...operation, op, value: rfcBoolean(operation.value) };
  if (operation.path === undefined && typeof operation.value === 'object' && operation.value !== null && !Array.isArray(operation.value)) {
    return { op, value: rfcResource(operation.value as Record<string, unknown>) };
  }
  return { ...operation, op };
}
