import type { LookupFunction } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { z } from 'zod';
import { quoteFilterValue } from '../../domain/mapping/scim-resource.ts';
import {
  ScimRequestError,
  TargetUnavailableError,
  type ScimListPage,
  type ScimPatchOperation,
  type ScimResource,
  type ScimResourceType,
  type ScimTarget,
} from '../../ports/scim-target.ts';
import { RequestPacer } from '../http/request-pacer.ts';
import { isTransientStatus, meaningfulRetryAfter, RetryPolicy, TransientFailure, type RetryPolicyOptions } from '../http/retry-policy.ts';
import { describeFailure, unreachableReason } from '../http/transport-errors.ts';

export { quoteFilterValue };

/** Options of {@link HttpScimTarget}; the retry tuning is {@link RetryPolicyOptions}. */
export interface HttpScimTargetOptions extends RetryPolicyOptions {
  /** The tenant URL (BaseAddress), e.g. `https://app.example.com/scim/v2`. */
  baseUrl: string;
  /** The SecretToken, sent as `Authorization: Bearer`. */
  token: string;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
  /** Connection pool; default a keep-alive Agent owned (and closed) by this target. */
  dispatcher?: Dispatcher;
  /** Connections of the default Agent; default 16. */
  connections?: number;
  /** Resolves host names for the default Agent (e.g. refusing non-public addresses); default DNS. */
  lookup?: LookupFunction;
  /** The job setting `MaxRequestsPerSecond`: the pace never goes above it; adaptive below it either way. */
  maxRequestsPerSecond?: number;
}

const patchOpSchemaUrn = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimJson = 'application/scim+json';

const resourceSchema = z.looseObject({ id: z.string().min(1) });
const groupMembersSchema = z.looseObject({ id: z.string().min(1), members: z.array(z.looseObject({ value: z.string() })).optional() });

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

interface ScimResponse {
  status: number;
  body: unknown;
  /** The Retry-After header, if the answer had one. */
  retryAfter: string | null;
}

/**
 * {@link ScimTarget} over HTTP with undici: keep-alive connections, `application/scim+json`, RFC 7644 request forms,
 * a timeout per request and the adapters' one {@link RetryPolicy} for 429, 5xx, timeouts and dropped connections.
 * Failures are typed: credentials refused or target unreachable → {@link TargetUnavailableError}; throttled or
 * failing briefly beyond what one request may retry and wait → `ThrottledError`; this object's request refused
 * (another 4xx) → {@link ScimRequestError}.
 */
export class HttpScimTarget implements ScimTarget {
  private readonly origin: string;
  private readonly basePath: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  /** One policy per target: one 429 holds back every request of the job, not just its own. */
  private readonly retries: RetryPolicy;
  /** Paces every attempt, so that a rate-limited target is met at its rate rather than above it. */
  private readonly pacer: RequestPacer;

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
    this.retries = new RetryPolicy('target', options);
    this.pacer = new RequestPacer(options);
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

  /** `GET /Groups/{id}?attributes=members`; a group without the attribute has no members (RFC 7643 §2.5). */
  async groupMembers(id: string): Promise<string[] | null> {
    const { status, body } = await this.send('GET', `/Groups/${encodeURIComponent(id)}?attributes=members`, undefined, { notFoundIsDone: true });
    if (status === 404) return null;
    const parsed = groupMembersSchema.safeParse(body);
    if (!parsed.success) throw new ScimRequestError(`GET /Groups/{id}?attributes=members answered ${status} without a group`, status);
    return (parsed.data.members ?? []).map((member) => member.value);
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
    return this.retries.run(what, async () => {
      const response = await this.pacer.run(() => this.attempt(method, path, body, what));
      const { status } = response;
      if (status >= 200 && status < 300) return response;
      if (status === 404 && notFoundIsDone) return response;
      if (status === 401 || status === 403) {
        throw new TargetUnavailableError(`${what}: the target refused the credentials (${status})`);
      }
      const refused = requestError(what, response);
      if (isTransientStatus(status)) {
        throw new TransientFailure(refused.message, { retryAfter: meaningfulRetryAfter(status, response.retryAfter), throttled: status === 429 });
      }
      throw refused;
    });
  }

  /** One request; a transport failure is thrown typed: unreachable → TargetUnavailableError, else TransientFailure. */
  private async attempt(method: string, path: string, body: unknown, what: string): Promise<ScimResponse> {
    // A POST whose answer was lost may have created the account: it is not sent again in-process, so that the
    // engine's next attempt looks the account up before it creates one (targets without uniqueness would duplicate).
    const lost = (error: unknown): TransientFailure =>
      new TransientFailure(`${what}: ${describeFailure(error)}`, { resendable: method !== 'POST' });
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
      const unreachable = unreachableReason(error);
      if (unreachable !== null) throw new TargetUnavailableError(`${what}: the target ${unreachable}`);
      throw lost(error);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw lost(error);
    }
    const retryAfter = response.headers['retry-after'];
    return {
      status: response.statusCode,
      body: parseBody(text),
      retryAfter: Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null),
    };
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

function requestError(what: string, response: ScimResponse): ScimRequestError {
  const parsed = errorBodySchema.safeParse(response.body);
  const scimType = parsed.success ? (parsed.data.scimType ?? null) : null;
  const detail = parsed.success && parsed.data.detail !== undefined ? `: ${parsed.data.detail}` : '';
  return new ScimRequestError(`${what} answered ${response.status}${detail}`, response.status, scimType);
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
