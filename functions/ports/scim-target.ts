import type { TargetTraits } from '../schemas/stored-job.ts';

export type { TargetTraits };
export type ScimResourceType = 'Users' | 'Groups';

export interface ScimPatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

export interface ScimResource {
  id: string;
  [attribute: string]: unknown;
}

export interface ScimListPage {
  resources: ScimResource[];
  totalResults: number;
}

/** One page of a cursor listing (RFC 9865, AWS IAM Identity Center). */
export interface ScimCursorPage {
  resources: ScimResource[];
  /** The cursor of the next page; null on the last. */
  nextCursor: string | null;
  /** The number of matches, when the answer gives one (Identity Center's cursor answers do not). */
  totalResults: number | null;
  /** The answer is an index-paged one (it has `startIndex`, no `nextCursor`): the target ignored the cursor. */
  ignoredCursor: boolean;
}

/**
 * The target refused this object's request (a 4xx other than 401/403/408/429, a 501, or an answer that is not
 * what the request asks for): the object is escrowed and retried later. Throttling and brief outages are not
 * this: they are {@link ThrottledError} and pause the run instead.
 */
/** A refused request and the target's answer, as the provisioning logs show it (secrets taken out). */
export interface TargetExchange {
  method: string;
  /** Below the base address, with the query. */
  path: string;
  /** The start of what was sent; empty for a request without a body. */
  requestBody: string;
  status: number;
  /** The start of what the target answered. */
  responseBody: string;
}

export class ScimRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly scimType: string | null = null,
    readonly exchange: TargetExchange | null = null,
  ) {
    super(message);
    this.name = 'ScimRequestError';
  }
}

/** The target rejects our credentials or cannot be reached at all: the job goes to quarantine. */
export class TargetUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetUnavailableError';
  }
}

/**
 * A SCIM 2.0 service provider (RFC 7643/7644). Sends standard requests (boolean `active`, lowercase ops),
 * retries 429 and 5xx with back-off honouring Retry-After, and never reports a failed read as "not found". It
 * adapts to what the target refuses (see {@link TargetTraits}) rather than asking the user to say.
 * Failures are typed: {@link ScimRequestError} (this object was refused), `ThrottledError` (slow down: the run
 * pauses), {@link TargetUnavailableError} (credentials refused, unreachable: quarantine).
 */
export interface ScimTarget {
  /** One page of a full listing (1-based startIndex), asking only for `attributes`. */
  list(type: ScimResourceType, attributes: string[], startIndex: number, count: number): Promise<ScimListPage>;
  /** One page of a cursor listing: `cursor` is empty for the first page, then the previous page's `nextCursor`. */
  listByCursor(type: ScimResourceType, attributes: string[], cursor: string, count: number): Promise<ScimCursorPage>;
  /** `GET /{type}?filter=<attribute> eq "<value>"`: the first match, or null when there is none. */
  findBy(type: ScimResourceType, attribute: string, value: string): Promise<ScimResource | null>;
  /** `GET /{type}/{id}` (groups without members): the resource as the target holds it, or null on 404. */
  get(type: ScimResourceType, id: string): Promise<ScimResource | null>;
  /** The member values (target ids) a group holds now, or null when it is gone (404). */
  groupMembers(id: string): Promise<string[] | null>;
  /**
   * The users a group holds by the users' side (`GET /Users?filter=groups.value eq "<id>"`, every page): for a
   * target whose group reads list no members (AWS IAM Identity Center). Null when the target refuses the filter.
   */
  usersInGroup(id: string): Promise<string[] | null>;
  create(type: ScimResourceType, resource: Record<string, unknown>): Promise<ScimResource>;
  patch(type: ScimResourceType, id: string, operations: ScimPatchOperation[]): Promise<void>;
  /** A resource that is already gone (404) counts as deleted. */
  delete(type: ScimResourceType, id: string): Promise<void>;
  /** What the target has shown it takes and refuses, from the traits it was given and what it answered since. */
  traits(): TargetTraits;
  /** Records what the engine learned of the target (how it pages). */
  learn(traits: TargetTraits): void;
}
