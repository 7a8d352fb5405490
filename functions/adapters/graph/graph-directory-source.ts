import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import {
  ResyncRequiredError,
  SourceUnavailableError,
  type Assignments,
  type DirectoryObject,
  type DirectoryObjectType,
  type DirectoryPage,
  type DirectorySource,
} from '../../ports/directory-source.ts';
import { isTransientStatus, meaningfulRetryAfter, RetryPolicy, TransientFailure, type RetryPolicyOptions } from '../http/retry-policy.ts';
import { describeFailure, unreachableReason } from '../http/transport-errors.ts';
import { secretRedactor } from '../../domain/secret-redaction.ts';
import type { ChangeSubscriptions, SubscribedResource, SubscriptionRequest } from '../../ports/change-subscriptions.ts';
import { graphSubscriptionSchema } from '../../schemas/change-notification.ts';

/** Options of {@link GraphDirectorySource}; the retry tuning is {@link RetryPolicyOptions}. */
export interface GraphDirectorySourceOptions extends RetryPolicyOptions {
  /** Graph base URL, e.g. `https://graph.microsoft.com/v1.0` (or the local directory's URL). */
  baseUrl: string;
  /**
   * Bearer token for each request; null sends none (the local directory accepts that). Called with the token the
   * directory answered 401 to, it drops that one and gives a fresh one.
   */
  getAccessToken: (refused?: string) => Promise<string | null>;
  /** Graph user property names to `$select` on `/users/delta`. */
  userAttributes: string[];
  /** Graph group property names to `$select` on `/groups/delta` (`members` is always added). */
  groupAttributes: string[];
  fetch?: typeof fetch;
  /** The job's secret values, taken out (with the access token) of what the directory answers before it is kept. */
  confidential?: string[];
  /** Per request, including reading the body; default 30 s. */
  timeoutMs?: number;
  /** Graph pages one readPage may read while they carry no objects; default 10. */
  maxRequestsPerPage?: number;
  /**
   * Entries per delta page asked with `Prefer: odata.maxpagesize` (Graph's users and groups delta default to 100
   * and cap it); default 500.
   */
  deltaPageSize?: number;
  /** Objects read by id at once (`readObjects`); default 8. */
  readConcurrency?: number;
}

type Stream = 'users' | 'groups';

/** A 401: the token was refused (a fresh one may be taken). */
class TokenRefusedError extends SourceUnavailableError {}

/**
 * The saved position: which stream the round is in and, per stream, the nextLink or deltaLink to read next
 * (null = that stream starts a full read). `select` pins the attribute selection the links were made with: a
 * digest of it (the list itself, as positions saved before the digest hold it, is still read), as the position is
 * stored in the job's items and an idle tick reads them whole.
 */
const watermarkSchema = z.object({
  v: z.literal(1),
  phase: z.enum(['users', 'groups']),
  users: z.nullable(z.string()),
  groups: z.nullable(z.string()),
  select: z.string(),
  /** Streams in their first, full read (started without a link): an entry there is the whole object. */
  full: z._default(z.array(z.enum(['users', 'groups'])), []),
});
type Watermark = z.infer<typeof watermarkSchema>;

const removedSchema = z.object({ reason: z.string() });

const graphObjectSchema = z.looseObject({
  id: z.string().check(z.minLength(1)),
  '@removed': z.optional(removedSchema),
  'members@delta': z.optional(
    z.array(z.looseObject({ id: z.string().check(z.minLength(1)), '@odata.type': z.optional(z.string()), '@removed': z.optional(removedSchema) })),
  ),
  'manager@delta': z.optional(z.array(z.looseObject({ id: z.string().check(z.minLength(1)), '@removed': z.optional(removedSchema) }))),
  manager: z.optional(z.nullable(z.looseObject({ id: z.string().check(z.minLength(1)) }))),
});

const graphDeltaPageSchema = z.object({
  value: z.array(graphObjectSchema),
  '@odata.nextLink': z.optional(z.string()),
  '@odata.deltaLink': z.optional(z.string()),
});

const assignmentPageSchema = z.object({
  value: z.array(z.looseObject({ principalId: z.string().check(z.minLength(1)), principalType: z.string() })),
  '@odata.nextLink': z.optional(z.string()),
});

const memberPageSchema = z.object({
  value: z.array(z.looseObject({ id: z.string().check(z.minLength(1)), '@odata.type': z.optional(z.string()) })),
  '@odata.nextLink': z.optional(z.string()),
});

const graphErrorSchema = z.object({ error: z.object({ code: z.optional(z.string()), message: z.optional(z.string()) }) });

type GraphObject = z.infer<typeof graphObjectSchema>;

const streamType: Record<Stream, DirectoryObjectType> = { users: 'User', groups: 'Group' };
const RESYNC_CODES = new Set(['resyncRequired', 'syncStateNotFound']);

/**
 * DirectorySource over Microsoft Graph delta query: a round reads `/users/delta` to its deltaLink, then
 * `/groups/delta` to its deltaLink. A page whose stream ends empty on its deltaLink flows straight into the next
 * stream, so an idle round costs one readPage and two requests.
 *
 * Group membership is taken from `members@delta` for user members only: nested groups are not expanded, as Entra
 * provisioning handles first-level members only.
 */
export class GraphDirectorySource implements DirectorySource, ChangeSubscriptions {
  private readonly baseUrl: string;
  private readonly origin: string;
  private readonly fetch: typeof fetch;
  private readonly select: Record<Stream, string>;
  /** The selection as positions saved before its digest name it (users|groups), and its digest. */
  private readonly selectList: string;
  private readonly selectKey: string;
  private readonly timeoutMs: number;
  /** One policy per source: a 429 from Graph (throttled per app and tenant) holds back every request of the job. */
  private readonly retries: RetryPolicy;
  private readonly maxRequestsPerPage: number;
  private readonly deltaPageSize: number;
  private readonly readConcurrency: number;
  /** Whether users are read with their manager (`manager` selected): Graph gives it as `manager@delta`. */
  private readonly withManager: boolean;

  constructor(private readonly options: GraphDirectorySourceOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.select = {
      users: [...new Set(options.userAttributes)].join(','),
      groups: [...new Set([...options.groupAttributes, 'members'])].join(','),
    };
    this.selectList = `${this.select.users}|${this.select.groups}`;
    this.selectKey = createHash('sha256').update(this.selectList).digest('base64url').slice(0, 22);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = new RetryPolicy('source', options);
    this.maxRequestsPerPage = options.maxRequestsPerPage ?? 10;
    this.deltaPageSize = options.deltaPageSize ?? 500;
    this.readConcurrency = options.readConcurrency ?? 8;
    this.withManager = options.userAttributes.includes('manager');
  }

  async readPage(watermark: string | null): Promise<DirectoryPage> {
    let position = watermark === null ? this.fullRound() : this.parseWatermark(watermark);
    const objects = new Map<string, DirectoryObject>();
    const began: DirectoryObjectType[] = [];
    for (let requests = 1; ; requests++) {
      const stream = position.phase;
      if (position[stream] === null) {
        began.push(streamType[stream]);
        position = { ...position, full: [...new Set([...position.full, stream])] };
      }
      const page = await this.getPage(position[stream] ?? this.startUrl(stream));
      const whole = position.full.includes(stream);
      for (const item of page.value) mergeInto(objects, this.toObject(streamType[stream], item, whole));

      const nextLink = page['@odata.nextLink'];
      const deltaLink = page['@odata.deltaLink'];
      let roundComplete = false;
      if (nextLink !== undefined) {
        position = { ...position, [stream]: this.ownLink(nextLink) };
      } else if (stream === 'users') {
        position = { ...position, users: this.ownLink(deltaLink!), phase: 'groups', full: position.full.filter((name) => name !== 'users') };
      } else {
        position = { ...position, groups: this.ownLink(deltaLink!), phase: 'users', full: position.full.filter((name) => name !== 'groups') };
        roundComplete = true;
      }
      if (roundComplete || objects.size > 0 || requests >= this.maxRequestsPerPage) {
        return { objects: [...objects.values()], watermark: JSON.stringify(position), roundComplete, ...(began.length > 0 ? { began } : {}) };
      }
    }
  }

  private fullRound(): Watermark {
    return { v: 1, phase: 'users', users: null, groups: null, select: this.selectKey, full: [] };
  }


  private startUrl(stream: Stream): string {
    const select = this.select[stream];
    return `${this.baseUrl}/${stream}/delta${select ? `?$select=${encodeURIComponent(select).replaceAll('%2C', ',')}` : ''}`;
  }

  private parseWatermark(raw: string): Watermark {
    let parsed: Watermark;
    try {
      parsed = watermarkSchema.parse(JSON.parse(raw));
    } catch {
      throw new ResyncRequiredError('The saved directory position cannot be read; a full read is needed.');
    }
    if (parsed.select !== this.selectKey && parsed.select !== this.selectList) {
      throw new ResyncRequiredError('The selected directory attributes changed since the saved position; a full read is needed.');
    }
    for (const link of [parsed.users, parsed.groups]) {
      if (link !== null && !this.isOwnLink(link)) {
        throw new ResyncRequiredError('The saved directory position belongs to another directory URL; a full read is needed.');
      }
    }
    return parsed;
  }

  private isOwnLink(link: string): boolean {
    try {
      return new URL(link).origin === this.origin;
    } catch {
      return false;
    }
  }

  /** Links are followed with the bearer token, so they must point at the configured directory. */
  private ownLink(link: string): string {
    if (!this.isOwnLink(link)) {
      throw new SourceUnavailableError(`The directory returned a paging link to another host: ${safeUrl(link)}`, false);
    }
    return link;
  }

  private async getPage(url: string): Promise<z.infer<typeof graphDeltaPageSchema>> {
    return this.parsePage((await this.get(url, false, { prefer: `odata.maxpagesize=${this.deltaPageSize}` })) as string, url);
  }

  /** A delta entry or an object read by id; `whole` = it carries every selected property (a manager it omits is none). */
  private toObject(type: DirectoryObjectType, item: GraphObject, whole: boolean): DirectoryObject {
    const object = toDirectoryObject(type, item);
    if (type !== 'User' || !this.withManager || object.removed !== null) return object;
    const delta = item['manager@delta'];
    let manager: string | null | undefined;
    if (delta !== undefined) manager = delta.find((entry) => entry['@removed'] === undefined)?.id ?? null;
    else if (item.manager !== undefined) manager = item.manager?.id ?? null;
    else if (whole) manager = null;
    if (manager === undefined) return object;
    return { ...object, attributes: { ...object.attributes, manager } };
  }

  /**
   * Objects by id (`GET /users/{id}`, `/groups/{id}`) with the selected attributes, no members. One the directory
   * answers 404 for is looked up among the deleted items: there it is soft-deleted, elsewhere gone for good.
   */
  async readObjects(refs: { type: DirectoryObjectType; id: string }[]): Promise<DirectoryObject[]> {
    return boundedMap(refs, this.readConcurrency, async (ref) => {
        const stream: Stream = ref.type === 'User' ? 'users' : 'groups';
        const select = this.select[stream].split(',').filter((name) => name !== 'members' && name !== 'manager').join(',');
        // The manager is a relationship: expanded, not selected.
        const expand = stream === 'users' && this.withManager ? '&$expand=manager($select=id)' : '';
        const url = `${this.baseUrl}/${stream}/${encodeURIComponent(ref.id)}?$select=${encodeURIComponent(select).replaceAll('%2C', ',')}${expand}`;
        const text = await this.get(url, true);
        if (text === null) {
          const deleted = await this.get(`${this.baseUrl}/directory/deletedItems/${encodeURIComponent(ref.id)}?$select=id`, true);
          return { type: ref.type, id: ref.id, attributes: {}, membersAdded: [], membersRemoved: [], removed: deleted === null ? 'deleted' : 'changed' };
        }
        const parsed = graphObjectSchema.safeParse(safeJson(text));
        if (!parsed.success) throw new SourceUnavailableError(`The directory answered ${safeUrl(url)} with something other than an object.`, false);
        return this.toObject(ref.type, parsed.data, true);
    });
  }

  /**
   * `GET /groups/{id}/members?$select=id`, every page: the direct members that are users; transitive,
   * `/groups/{id}/transitiveMembers/microsoft.graph.user` (users at any depth).
   */
  readMembers(groupId: string, options: { transitive?: boolean } = {}): Promise<string[]> {
    const group = `${this.baseUrl}/groups/${encodeURIComponent(groupId)}`;
    return options.transitive
      ? this.readReferences(`${group}/transitiveMembers/microsoft.graph.user?$select=id&$top=999`, null)
      : this.readReferences(`${group}/members?$select=id&$top=999`, '#microsoft.graph.user');
  }

  /** `GET /users/{id}/memberOf?$select=id` (or `transitiveMemberOf`), every page: the groups among them. */
  readMemberOf(userId: string, options: { transitive?: boolean } = {}): Promise<string[]> {
    const relation = options.transitive ? 'transitiveMemberOf' : 'memberOf';
    return this.readReferences(`${this.baseUrl}/users/${encodeURIComponent(userId)}/${relation}?$select=id&$top=999`, '#microsoft.graph.group');
  }

  /** `GET /groups/{id}/transitiveMemberOf/microsoft.graph.group?$select=id`, every page. */
  async readAncestors(groupId: string): Promise<string[]> {
    const ids = await this.readReferences(`${this.baseUrl}/groups/${encodeURIComponent(groupId)}/transitiveMemberOf/microsoft.graph.group?$select=id&$top=999`, null);
    return ids.filter((id) => id !== groupId);
  }

  /**
   * `GET /servicePrincipals/{id}/appRoleAssignedTo?$select=principalId,principalType&$top=999`, every page: the users
   * and groups assigned (service principals assigned are no one to provision).
   */
  async readAssignments(servicePrincipalId: string): Promise<Assignments> {
    const users = new Set<string>();
    const groups = new Set<string>();
    let url: string | undefined = `${this.baseUrl}/servicePrincipals/${encodeURIComponent(servicePrincipalId)}/appRoleAssignedTo?$select=principalId,principalType&$top=999`;
    while (url) {
      const text = await this.get(url, true);
      if (text === null) {
        throw new SourceUnavailableError(`The service principal ${servicePrincipalId} does not exist in the source directory: its assignments cannot be read.`, true);
      }
      const parsed = assignmentPageSchema.safeParse(safeJson(text));
      if (!parsed.success) throw new SourceUnavailableError(`The directory answered ${safeUrl(url)} with something other than a list of assignments.`, false);
      for (const assignment of parsed.data.value) {
        if (assignment.principalType === 'User') users.add(assignment.principalId);
        else if (assignment.principalType === 'Group') groups.add(assignment.principalId);
      }
      const next: string | undefined = parsed.data['@odata.nextLink'];
      url = next === undefined ? undefined : this.ownLink(next);
    }
    return { users: [...users], groups: [...groups] };
  }

  /** Every page of a list of directory objects: the ids of those of one type (null: a list of one type already). */
  private async readReferences(first: string, type: string | null): Promise<string[]> {
    const ids: string[] = [];
    let url: string | undefined = first;
    while (url) {
      const parsed = memberPageSchema.safeParse(safeJson((await this.get(url, false)) as string));
      if (!parsed.success) throw new SourceUnavailableError(`The directory answered ${safeUrl(url)} with something other than a list of objects.`, false);
      for (const item of parsed.data.value) if (type === null || item['@odata.type'] === type) ids.push(item.id);
      const next: string | undefined = parsed.data['@odata.nextLink'];
      url = next === undefined ? undefined : this.ownLink(next);
    }
    return ids;
  }

  /** `GET /users/$count` plus `/groups/$count` (advanced query: `ConsistencyLevel: eventual`); null if unanswered. */
  async countObjects(): Promise<number | null> {
    try {
      let total = 0;
      for (const stream of ['users', 'groups'] as const) {
        const count = Number(await this.get(`${this.baseUrl}/${stream}/$count`, false, { consistencylevel: 'eventual', accept: 'text/plain' }));
        if (!Number.isInteger(count)) return null;
        total += count;
      }
      return total;
    } catch {
      return null;
    }
  }

  /**
   * A GET with the token through the retry policy; null for a 404 when `notFoundIsNull`. Throttled or failing
   * briefly beyond the policy → ThrottledError('source'); credentials refused, unreachable or a refused request →
   * SourceUnavailableError (quarantine); 410 / `syncStateNotFound` → ResyncRequiredError.
   */
  private get(url: string, notFoundIsNull: boolean, headers: Record<string, string> = {}): Promise<string | null> {
    return this.send('GET', url, notFoundIsNull, headers);
  }

  private async send(method: string, url: string, notFoundIsNull: boolean, headers: Record<string, string> = {}, body?: unknown): Promise<string | null> {
    const token = await this.accessToken();
    try {
      return await this.sendWith(token, method, url, notFoundIsNull, headers, body);
    } catch (error) {
      // A cached token the directory no longer takes (revoked, or its app's secret changed): drop it, try once more.
      if (!(error instanceof TokenRefusedError) || token === null) throw error;
      return this.sendWith(await this.accessToken(token), method, url, notFoundIsNull, headers, body);
    }
  }

  private sendWith(token: string | null, method: string, url: string, notFoundIsNull: boolean, headers: Record<string, string>, body: unknown): Promise<string | null> {
    return this.retries.run(`${method} ${safeUrl(url)}`, async () => {
      let response: Response;
      let text: string;
      try {
        response = await this.fetch(url, {
          method,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          headers: {
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...headers,
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          signal: AbortSignal.timeout(this.timeoutMs),
          // A redirect is never followed: it could carry the token elsewhere, or lead to an internal address.
          redirect: 'manual',
        });
        text = await response.text();
      } catch (error) {
        const unreachable = unreachableReason(error);
        if (unreachable !== null) throw new SourceUnavailableError(`The directory ${unreachable}.`, true);
        throw new TransientFailure(`The directory request to ${safeUrl(url)} failed: ${describeFailure(error)}`);
      }

      if (response.ok) return text;
      if (response.status >= 300 && response.status < 400) {
        throw new SourceUnavailableError(`The directory answered ${safeUrl(url)} with a redirect (${response.status}), which is not followed.`, true);
      }
      if (response.status === 404 && notFoundIsNull) return null;

      const graphError = parseGraphError(secretRedactor([token, ...(this.options.confidential ?? [])])(text));
      const detail = `${response.status}${graphError.code ? ` ${graphError.code}` : ''}${graphError.message ? `: ${graphError.message}` : ''}`;
      if (response.status === 410 || RESYNC_CODES.has(graphError.code ?? '')) {
        throw new ResyncRequiredError(`The directory asks for a full read (${detail}).`);
      }
      if (response.status === 401) throw new TokenRefusedError(`The directory refused the credentials (${detail}).`, true);
      if (response.status === 403) {
        throw new SourceUnavailableError(`The directory refused the credentials (${detail}).`, true);
      }
      if (isTransientStatus(response.status)) {
        throw new TransientFailure(`The directory answered ${detail}`, {
          retryAfter: meaningfulRetryAfter(response.status, response.headers.get('retry-after')),
          throttled: response.status === 429,
        });
      }
      throw new SourceUnavailableError(`The directory rejected ${method === 'GET' ? 'the delta request' : `${method} ${safeUrl(url)}`} (${detail}).`, true);
    });
  }

  private parsePage(text: string, url: string): z.infer<typeof graphDeltaPageSchema> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new SourceUnavailableError(`The directory answered ${safeUrl(url)} with a body that is not JSON.`, false);
    }
    const parsed = graphDeltaPageSchema.safeParse(json);
    if (!parsed.success || (parsed.data['@odata.nextLink'] === undefined) === (parsed.data['@odata.deltaLink'] === undefined)) {
      // Never take a malformed page for an empty one: that could read as "everything is gone".
      throw new SourceUnavailableError(`The directory answered ${safeUrl(url)} with a page that is not a delta page.`, false);
    }
    return parsed.data;
  }

  async create(resource: SubscribedResource, request: SubscriptionRequest): Promise<{ id: string; expirationDateTime: string }> {
    const text = await this.send('POST', `${this.baseUrl}/subscriptions`, false, {}, {
      changeType: 'updated,deleted',
      resource,
      ...request,
    });
    const parsed = graphSubscriptionSchema.safeParse(JSON.parse(text ?? 'null'));
    if (!parsed.success) throw new SourceUnavailableError('The directory answered a subscription request with something other than a subscription.', false);
    return parsed.data;
  }

  async renew(id: string, expirationDateTime: string): Promise<boolean> {
    const text = await this.send('PATCH', `${this.baseUrl}/subscriptions/${encodeURIComponent(id)}`, true, {}, { expirationDateTime });
    return text !== null;
  }

  private async accessToken(refused?: string): Promise<string | null> {
    try {
      return await this.options.getAccessToken(refused);
    } catch (error) {
      const reason = secretRedactor(this.options.confidential ?? [])(error instanceof Error ? error.message : String(error));
      throw new SourceUnavailableError(`No access token for the directory (${reason}).`, true);
    }
  }
}

/** Graph JSON of one delta entry in domain terms: annotations dropped, `@removed` and `members@delta` read. */
function toDirectoryObject(type: DirectoryObjectType, item: GraphObject): DirectoryObject {
  const reason = item['@removed']?.reason;
  if (reason !== undefined) {
    return { type, id: item.id, attributes: {}, membersAdded: [], membersRemoved: [], removed: reason === 'deleted' ? 'deleted' : 'changed' };
  }
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    if (key !== 'id' && !key.includes('@')) attributes[key] = value;
  }
  delete attributes['manager'];
  const membersAdded: string[] = [];
  const membersRemoved: string[] = [];
  let memberGroupsChanged = false;
  for (const member of item['members@delta'] ?? []) {
    if (member['@odata.type'] === '#microsoft.graph.group') memberGroupsChanged = true;
    if (member['@odata.type'] !== '#microsoft.graph.user') continue;
    (member['@removed'] ? membersRemoved : membersAdded).push(member.id);
  }
  return { type, id: item.id, attributes, membersAdded, membersRemoved, removed: null, ...(memberGroupsChanged ? { memberGroupsChanged: true as const } : {}) };
}

/** Folds a repeated object into the one already on the page: later attributes win, member changes accumulate. */
function mergeInto(objects: Map<string, DirectoryObject>, next: DirectoryObject): void {
  const key = `${next.type}:${next.id}`;
  const earlier = objects.get(key);
  if (!earlier || next.removed !== null) {
    objects.set(key, next);
    return;
  }
  const added = new Set(earlier.removed === null ? earlier.membersAdded : []);
  const removed = new Set(earlier.removed === null ? earlier.membersRemoved : []);
  for (const id of next.membersAdded) {
    added.add(id);
    removed.delete(id);
  }
  for (const id of next.membersRemoved) {
    removed.add(id);
    added.delete(id);
  }
  objects.set(key, {
    ...next,
    attributes: earlier.removed === null ? { ...earlier.attributes, ...next.attributes } : next.attributes,
    membersAdded: [...added],
    membersRemoved: [...removed],
    ...(earlier.memberGroupsChanged || next.memberGroupsChanged ? { memberGroupsChanged: true as const } : {}),
  });
}

/** `work` over the items, at most `limit` at a time, results in the items' order. */
async function boundedMap<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const at = next++;
        results[at] = await work(items[at]!);
      }
    }),
  );
  return results;
}

function parseGraphError(text: string): { code?: string; message?: string } {
  try {
    const parsed = graphErrorSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.error : {};
  } catch {
    return {};
  }
}

/** A URL without its query (tokens), fit for messages and logs. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
