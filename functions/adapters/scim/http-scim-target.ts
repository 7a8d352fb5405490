import type { Agent } from 'node:http';
import * as z from 'zod/mini';
import { quoteFilterValue } from '../../domain/mapping/scim-resource.ts';
import { secretRedactor, type Redact } from '../../domain/secret-redaction.ts';
import { oneValueEach, oneValueOperations } from './single-values.ts';
import {
  ScimRequestError,
  TargetUnavailableError,
  type ScimCursorPage,
  type ScimListPage,
  type ScimPatchOperation,
  type ScimResource,
  type ScimResourceType,
  type ScimTarget,
  type TargetTraits,
} from '../../ports/scim-target.ts';
import { RequestPacer } from '../http/request-pacer.ts';
import { isTransientStatus, meaningfulRetryAfter, RetryPolicy, TransientFailure, type RetryPolicyOptions } from '../http/retry-policy.ts';
import { exchange, InFlight, plainAgent, type AgentFactory, type HttpAnswer } from '../http/http-exchange.ts';
import { describeFailure, unreachableReason } from '../http/transport-errors.ts';

export { quoteFilterValue };

/** Options of {@link HttpScimTarget}; the retry tuning is {@link RetryPolicyOptions}. */
export interface HttpScimTargetOptions extends RetryPolicyOptions {
  /** The tenant URL (BaseAddress), e.g. `https://app.example.com/scim/v2`. */
  baseUrl: string;
  /** The SecretToken, sent as `Authorization: Bearer`. */
  token: string;
  /** The longest a request's connection may stay silent (connecting, before the answer, within it); default 30 s. */
  timeoutMs?: number;
  /** Connection pool for the base URL's protocol; default a keep-alive Agent owned (and destroyed) by this target. */
  agent?: Agent;
  /** Connections of the default Agent; default 16. */
  connections?: number;
  /** Makes the default Agent (e.g. one refusing non-public addresses); default Node's. */
  createAgent?: AgentFactory;
  /** The job's other secret values, taken out (with the token) of whatever the target's answers are kept as. */
  confidential?: string[];
  /** What earlier runs learned of this target (see {@link TargetTraits}); default nothing. */
  traits?: TargetTraits;
  /** The job setting `MaxRequestsPerSecond`: the pace never goes above it; adaptive below it either way. */
  maxRequestsPerSecond?: number;
}

const patchOpSchemaUrn = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const scimJson = 'application/scim+json';
/** How much of a refused request and its answer the provisioning logs keep. */
const exchangeBodyChars = 1000;
/** Some targets block requests without one (AWS IAM Identity Center refuses a PATCH without it). */
const userAgent = 'graph-sync-jobs-scim-client/1';

const resourceSchema = z.looseObject({ id: z.string().check(z.minLength(1)) });
const groupMembersSchema = z.looseObject({ id: z.string().check(z.minLength(1)), members: z.optional(z.array(z.looseObject({ value: z.string() }))) });

const listResponseSchema = z.object({
  totalResults: z.int().check(z.gte(0)),
  Resources: z.optional(z.array(resourceSchema)),
});

/** A cursor page (RFC 9865; Identity Center's carries `itemsPerPage` and `nextCursor`, no `totalResults`). */
const cursorResponseSchema = z
  .object({
    Resources: z.optional(z.array(resourceSchema)),
    itemsPerPage: z.optional(z.int().check(z.gte(0))),
    totalResults: z.optional(z.int().check(z.gte(0))),
    startIndex: z.optional(z.int()),
    nextCursor: z.optional(z.string().check(z.minLength(1))),
  })
  // An answer without resources must still say it is a (possibly empty) page.
  .check(z.refine((page) => page.Resources !== undefined || page.itemsPerPage !== undefined || page.totalResults !== undefined));

/** A member removal in RFC 7644's value-filter form, as the planner writes it (see memberRequests). */
const memberFilterPathPattern = /^members\[value eq ("(?:[^"\\]|\\.)*")\]$/;

const errorBodySchema = z.looseObject({
  scimType: z.optional(z.string()),
  detail: z.optional(z.string()),
});

/** Attribute paths as SCIM writes them (RFC 7644 §3.10), with an optional schema URN prefix. */
const attributePathPattern = /^[A-Za-z0-9:._$-]+$/;

interface ScimResponse {
  status: number;
  body: unknown;
  /** The answer as it came, for the provisioning logs of a refusal. */
  text: string;
  /** The Retry-After header, if the answer had one. */
  retryAfter: string | null;
}

/**
 * {@link ScimTarget} over HTTP with node:http(s): keep-alive connections, `application/scim+json`, RFC 7644 request forms,
 * a timeout per request and the adapters' one {@link RetryPolicy} for 429, 5xx, timeouts and dropped connections.
 * Failures are typed: credentials refused or target unreachable → {@link TargetUnavailableError}; throttled or
 * failing briefly beyond what one request may retry and wait → `ThrottledError`; this object's request refused
 * (another 4xx) → {@link ScimRequestError}.
 */
export class HttpScimTarget implements ScimTarget {
  private readonly origin: URL;
  private readonly basePath: string;
  private readonly agent: Agent;
  private readonly ownsAgent: boolean;
  private readonly inFlight = new InFlight();
  private readonly timeoutMs: number;
  /** One policy per target: one 429 holds back every request of the job, not just its own. */
  private readonly retries: RetryPolicy;
  private readonly learned: TargetTraits;
  /** Paces every attempt, so that a rate-limited target is met at its rate rather than above it. */
  private readonly pacer: RequestPacer;
  private readonly redact: Redact;

  constructor(private readonly options: HttpScimTargetOptions) {
    const base = new URL(options.baseUrl);
    this.origin = new URL(base.origin);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.ownsAgent = options.agent === undefined;
    // An idle pooled connection is closed after 30 s, or sooner when the target's Keep-Alive header says so.
    this.agent = options.agent ?? (options.createAgent ?? plainAgent)(base.protocol, { keepAlive: true, maxSockets: options.connections ?? 16, timeout: 30_000 });
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = new RetryPolicy('target', options);
    this.learned = { ...options.traits };
    this.pacer = new RequestPacer(options);
    this.redact = secretRedactor([options.token, ...(options.confidential ?? [])]);
  }

  traits(): TargetTraits {
    return { ...this.learned };
  }

  learn(traits: TargetTraits): void {
    Object.assign(this.learned, traits);
  }

  async list(type: ScimResourceType, attributes: string[], startIndex: number, count: number): Promise<ScimListPage> {
    const query = { startIndex: String(startIndex), count: String(count) };
    // A refused index listing is not sent again without attributes: the matcher turns to a cursor listing then.
    const { body } = await this.read(`/${type}`, query, attributesOnly(attributes), { bareOnRefusal: false });
    const page = parseList(body, `GET /${type}`);
    return { resources: page.Resources ?? [], totalResults: page.totalResults };
  }

  async listByCursor(type: ScimResourceType, attributes: string[], cursor: string, count: number, filter?: string): Promise<ScimCursorPage> {
    const { body } = await this.read(`/${type}`, { ...(filter === undefined ? {} : { filter }), cursor, count: String(count) }, attributesOnly(attributes));
    const parsed = cursorResponseSchema.safeParse(body);
    if (!parsed.success) throw new ScimRequestError(`GET /${type}?cursor answered something other than a ListResponse`, 200);
    const { Resources, nextCursor, totalResults, startIndex } = parsed.data;
    return {
      resources: Resources ?? [],
      nextCursor: nextCursor ?? null,
      totalResults: totalResults ?? null,
      ignoredCursor: nextCursor === undefined && startIndex !== undefined,
    };
  }

  async findBy(type: ScimResourceType, attribute: string, value: string): Promise<ScimResource | null> {
    assertAttributePath(attribute);
    const filter = { filter: `${attribute} eq ${quoteFilterValue(value)}` };
    // Entra's own group lookups leave members out: a large group's member list is not needed to match it.
    const projection: Record<string, string> = type === 'Groups' ? { excludedAttributes: 'members' } : {};
    const { body } = await this.read(`/${type}`, filter, projection);
    const page = parseList(body, `GET /${type}?filter`);
    const [first] = page.Resources ?? [];
    if (page.totalResults > 0 && first === undefined) {
      throw new ScimRequestError(`GET /${type}?filter reported ${page.totalResults} matches but returned none`, 200);
    }
    return first ?? null;
  }

  async get(type: ScimResourceType, id: string): Promise<ScimResource | null> {
    const projection: Record<string, string> = type === 'Groups' ? { excludedAttributes: 'members' } : {};
    const { status, body } = await this.read(`/${type}/${encodeURIComponent(id)}`, {}, projection, { notFoundIsDone: true });
    if (status === 404) return null;
    const parsed = resourceSchema.safeParse(body);
    if (!parsed.success) throw new ScimRequestError(`GET /${type}/{id} answered ${status} without a resource`, status);
    return parsed.data;
  }

  /** `GET /Groups/{id}?attributes=members`; a group without the attribute has no members (RFC 7643 §2.5). */
  async groupMembers(id: string): Promise<string[] | null> {
    const { status, body } = await this.read(`/Groups/${encodeURIComponent(id)}`, {}, { attributes: 'members' }, { notFoundIsDone: true });
    if (status === 404) return null;
    const parsed = groupMembersSchema.safeParse(body);
    if (!parsed.success) throw new ScimRequestError(`GET /Groups/{id}?attributes=members answered ${status} without a group`, status);
    return (parsed.data.members ?? []).map((member) => member.value);
  }

  /**
   * `GET /Users?filter=groups.value eq "<id>"`, every page: by cursor (count 100, as Identity Center takes) unless
   * the target is known to page by `startIndex`, or answers an index page to the cursor or refuses it; by index until
   * a short, empty or repeated page. Null when the target refuses the filter.
   */
  async usersInGroup(id: string): Promise<string[] | null> {
    const filter = `groups.value eq ${quoteFilterValue(id)}`;
    const ids = new Set<string>();
    /** Adds a page; false when it held nothing new (the end, or a target repeating itself). */
    const add = (resources: readonly ScimResource[]) => {
      const before = ids.size;
      for (const resource of resources) ids.add(resource.id);
      return ids.size > before;
    };
    try {
      let startIndex = 1;
      if (this.learned.listing !== 'startIndex') {
        let cursor = '';
        try {
          for (;;) {
            const page = await this.listByCursor('Users', ['id'], cursor, 100, filter);
            if (page.ignoredCursor) {
              add(page.resources);
              startIndex = ids.size + 1;
              break;
            }
            if (!add(page.resources) || page.nextCursor === null || page.nextCursor === cursor) return [...ids];
            cursor = page.nextCursor;
          }
        } catch (error) {
          if (!(error instanceof ScimRequestError && error.status === 400 && cursor === '')) throw error;
        }
      }
      for (let longest = 0; ; ) {
        const { body } = await this.read('/Users', { filter, startIndex: String(startIndex), count: '100' }, attributesOnly(['id']));
        const resources = parseList(body, 'GET /Users?filter').Resources ?? [];
        if (!add(resources) || resources.length < longest) return [...ids];
        longest = resources.length;
        startIndex += resources.length;
      }
    } catch (error) {
      if (error instanceof ScimRequestError) return null;
      throw error;
    }
  }

  /**
   * A user with several values of a multi-valued attribute that the target refuses (400) is sent again with its
   * primary values only; when that is taken, the target is known to take one value each (see `singleValues`).
   */
  async create(type: ScimResourceType, resource: Record<string, unknown>): Promise<ScimResource> {
    const rfc = rfcResource(resource);
    const one = type === 'Users' ? oneValueEach(rfc) : { resource: rfc, reduced: false };
    const { status, body } = await this.singleValued(one.reduced, () => this.send('POST', `/${type}`, rfc), () => this.send('POST', `/${type}`, one.resource));
    const parsed = resourceSchema.safeParse(body);
    if (!parsed.success) throw new ScimRequestError(`POST /${type} answered ${status} without a resource id`, status);
    return parsed.data;
  }

  /**
   * Member removals go in RFC 7644's value-filter form until the target refuses it (400) and takes the same
   * removals as Entra sends them (`path: members` with the values); from then on, in that form only.
   */
  async patch(type: ScimResourceType, id: string, operations: ScimPatchOperation[]): Promise<void> {
    const path = `/${type}/${encodeURIComponent(id)}`;
    const asValueList = type === 'Groups' && this.learned.memberRemoval !== 'pathFilter' ? memberValueList(operations) : null;
    const body = (ops: ScimPatchOperation[]) => ({ schemas: [patchOpSchemaUrn], Operations: ops.map(rfcOperation) });
    if (asValueList === null) {
      const one = type === 'Users' ? oneValueOperations(operations) : { operations, reduced: false };
      const sendOne = async () => void (one.operations.length > 0 && (await this.send('PATCH', path, body(one.operations))));
      return void (await this.singleValued(one.reduced, () => this.send('PATCH', path, body(operations)), sendOne));
    }
    if (this.learned.memberRemoval === 'valueList') return void (await this.send('PATCH', path, body(asValueList)));
    try {
      await this.send('PATCH', path, body(operations));
      this.learned.memberRemoval = 'pathFilter';
    } catch (error) {
      if (!(error instanceof ScimRequestError && error.status === 400)) throw error;
      await this.send('PATCH', path, body(asValueList));
      this.learned.memberRemoval = 'valueList';
    }
  }

  async delete(type: ScimResourceType, id: string): Promise<void> {
    await this.send('DELETE', `/${type}/${encodeURIComponent(id)}`, undefined, { notFoundIsDone: true });
  }

  /** Closes the connection pool when this target created it, once the requests in flight have ended. */
  async close(): Promise<void> {
    if (!this.ownsAgent) return;
    await this.inFlight.settled();
    this.agent.destroy();
  }

  /** Sends `all`, or `one` (primary values only) to a target known to take one value each, or after it refused `all`. */
  private async singleValued<T>(reduced: boolean, all: () => Promise<T>, one: () => Promise<T>): Promise<T> {
    if (!reduced) return all();
    if (this.learned.singleValues === true) return one();
    try {
      return await all();
    } catch (error) {
      // (Requests in flight when another learned it are refused too: they are sent again the same way.)
      if (!(error instanceof ScimRequestError && error.status === 400)) throw error;
      const answer = await one();
      this.learned.singleValues = true;
      return answer;
    }
  }

  /**
   * A GET with `attributes`/`excludedAttributes` until the target refuses them (400) and answers the same request
   * without them (AWS IAM Identity Center does not support them); from then on, without them only.
   */
  private async read(
    path: string,
    query: Record<string, string>,
    projection: Record<string, string>,
    { notFoundIsDone = false, bareOnRefusal = true } = {},
  ): Promise<ScimResponse> {
    const url = (params: Record<string, string>) => {
      const search = new URLSearchParams(params).toString();
      return search === '' ? path : `${path}?${search}`;
    };
    const options = { notFoundIsDone };
    if (this.learned.projection === false || Object.keys(projection).length === 0) return this.send('GET', url(query), undefined, options);
    try {
      return await this.send('GET', url({ ...query, ...projection }), undefined, options);
    } catch (error) {
      if (!(bareOnRefusal && error instanceof ScimRequestError && error.status === 400)) throw error;
      const answer = await this.send('GET', url(query), undefined, options);
      this.learned.projection = false;
      return answer;
    }
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
      const refused = this.requestError(method, path, body, response);
      if (isTransientStatus(status)) {
        throw new TransientFailure(refused.message, { retryAfter: meaningfulRetryAfter(status, response.retryAfter), throttled: status === 429 });
      }
      throw refused;
    });
  }

  /**
   * The refusal as the engine keeps it (escrow, status, provisioning logs): the target's detail and the exchange,
   * with the job's secrets taken out wherever the target echoed them.
   */
  private requestError(method: string, path: string, body: unknown, response: ScimResponse): ScimRequestError {
    const { redact } = this;
    const parsed = errorBodySchema.safeParse(response.body);
    const scimType = parsed.success ? (parsed.data.scimType ?? null) : null;
    const detail = parsed.success && parsed.data.detail !== undefined ? `: ${parsed.data.detail}` : '';
    const sent = {
      method,
      path,
      requestBody: redact(body === undefined ? '' : JSON.stringify(body)).slice(0, exchangeBodyChars),
      status: response.status,
      responseBody: redact(response.text).slice(0, exchangeBodyChars),
    };
    return new ScimRequestError(redact(`${method} ${path.split('?')[0]} answered ${response.status}${detail}`), response.status, scimType, sent);
  }

  /** One request; a transport failure is thrown typed: unreachable → TargetUnavailableError, else TransientFailure. */
  private async attempt(method: string, path: string, body: unknown, what: string): Promise<ScimResponse> {
    // A POST whose answer was lost may have created the account: it is not sent again in-process, so that the
    // engine's next attempt looks the account up before it creates one (targets without uniqueness would duplicate).
    const lost = (error: unknown): TransientFailure =>
      new TransientFailure(`${what}: ${describeFailure(error)}`, { resendable: method !== 'POST' });
    let response: HttpAnswer;
    try {
      // exchange follows no redirect (one could carry the bearer token elsewhere) and skips fetch's web-stream
      // machinery: an initial sync makes thousands of these requests.
      response = await this.inFlight.track(exchange(this.origin, `${this.basePath}${path}`, {
        method,
        agent: this.agent,
        timeoutMs: this.timeoutMs,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: `${scimJson}, application/json`,
          'user-agent': userAgent,
          ...(body === undefined ? {} : { 'content-type': scimJson }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }));
    } catch (error) {
      const unreachable = unreachableReason(error);
      if (unreachable !== null) throw new TargetUnavailableError(`${what}: the target ${unreachable}`);
      throw lost(error);
    }
    const { text } = response;
    const retryAfter = response.headers['retry-after'];
    return {
      status: response.status,
      body: parseBody(text),
      text,
      retryAfter: Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null),
    };
  }
}

function assertAttributePath(attribute: string): void {
  if (!attributePathPattern.test(attribute)) throw new Error(`Not a SCIM attribute path: ${attribute}`);
}

/** `attributes=…` for a listing, when it asks for any. */
function attributesOnly(attributes: string[]): Record<string, string> {
  attributes.forEach(assertAttributePath);
  return attributes.length > 0 ? { attributes: attributes.join(',') } : {};
}

/**
 * Operations that only remove members by value filter, as one Entra-form removal
 * (`{"op":"remove","path":"members","value":[{"value":…}]}`); null for any other request.
 */
function memberValueList(operations: ScimPatchOperation[]): ScimPatchOperation[] | null {
  const values: { value: string }[] = [];
  for (const operation of operations) {
    const quoted = operation.op === 'remove' && operation.value === undefined ? memberFilterPathPattern.exec(operation.path ?? '')?.[1] : undefined;
    if (quoted === undefined) return null;
    values.push({ value: JSON.parse(quoted) as string });
  }
  return values.length > 0 ? [{ op: 'remove', path: 'members', value: values }] : null;
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
