/**
 * AWS IAM Identity Center's SCIM implementation, as its developer guide documents it
 * (https://docs.aws.amazon.com/singlesignon/latest/developerguide/), with what the guide leaves open settled by
 * evidence from clients that talk to it (cited where used). The generic service does the storing; this module
 * refuses what Identity Center refuses, lists the way it lists and answers errors in its shape.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../../functions/ports/clock.ts';
import type { ScimAnswer, ScimRoute } from './local-scim-service.ts';
import { notFound, ScimServiceError, scimErrorSchemaUrn } from './scim-error.ts';
import { parseScimFilter, type Filter } from './scim-filter.ts';
import type { ResourceRules, ScimResources } from './scim-resources.ts';
import {
  enterpriseUserSchemaUrn,
  listResponseSchemaUrn,
  patchBodySchema,
  type GroupMember,
  type PatchOperation,
  type ResourceEndpoint,
  type StoredResource,
} from './scim-schemas.ts';

type Json = Record<string, unknown>;

const guide = 'https://docs.aws.amazon.com/singlesignon/latest/developerguide';

/** The detail Identity Center gives for most refusals (idp-scim-sync issues #30, #62, #98 quote it). */
const unparsable = 'Request is unparsable, syntactically incorrect, or violates schema.';
/** Its detail for a duplicate userName or displayName (idp-scim-sync pkg/aws/testdata/Create*Response_Conflict.json). */
const duplicate = 'Refused to create a new, duplicate resource.';

/** ValidationException: Identity Center's 400 for anything it cannot parse or does not support. */
const validation = (detail: string): ScimServiceError => new ScimServiceError(400, null, detail);

const maxPage = 100;
const discoveryEndpoints = new Set(['ServiceProviderConfig', 'Schemas', 'ResourceTypes']);
const maxMembershipChanges = 100;
/** Multi-valued attributes that may hold one value only (createuser.html, patchuser.html). */
const singleValued = ['emails', 'phoneNumbers', 'addresses', 'roles'] as const;
/** Attributes CreateUser "does not support" (createuser.html). The guide documents no refusal, so they are dropped. */
const unsupportedUserAttributes = ['ims', 'photos', 'x509Certificates', 'entitlements', 'password'];
/** Attributes PatchUser may modify (patchuser.html), lower case; `enterprise` is the enterprise extension. */
const patchableUserAttributes = new Set([
  'username', 'active', 'externalid', 'displayname', 'nickname', 'profileurl', 'title', 'usertype',
  'preferredlanguage', 'locale', 'timezone', 'name', 'enterprise', 'emails', 'addresses', 'phonenumbers',
]);
const patchableGroupAttributes = new Set(['displayname', 'members', 'externalid']);
/** Filter attribute combinations ListUsers and ListGroups support (listusers.html, listgroups.html), lower case, sorted. */
const supportedFilters: Record<ResourceEndpoint, string[]> = {
  Users: ['username', 'externalid', 'id', 'groups.value', 'id manager'],
  Groups: ['displayname', 'externalid', 'id', 'members.value', 'id members'],
};
/**
 * Characters Identity Center refuses that Entra allows (entra-docs aws-single-sign-on-provisioning-tutorial.md,
 * "Invalid characters"). The same page names `" < > | ; : %`, but createuser.html allows symbols and punctuation
 * in userName, so only the control characters are refused.
 */
const refusedCharacters = /[\t\r\n]/;

/** ListUsers/ListGroups parameters (listusers.html "Query Parameters"). */
const listQuerySchema = z.object({
  filter: z.string().optional(),
  count: z.coerce.number().int().min(1).max(maxPage).default(maxPage),
  cursor: z.string().regex(/^[-a-zA-Z0-9+=/:_]*$/, 'cursor must match [-a-zA-Z0-9+=/:_]*').optional(),
});

/** Ids and refusals of stored resources under Identity Center's rules, for {@link ScimResources}. */
export function identityCenterRules(): ResourceRules {
  // Identity Center ids are the identity store's prefix and a UUID: 9067729b3d-94f1e0b3-c394-48d5-8ab1-2c122a167074.
  const storePrefix = randomBytes(5).toString('hex');
  return {
    newId: () => `${storePrefix}-${randomUUID()}`,
    check: (endpoint, resource, change) => {
      refuseControlCharacters(resource);
      if (endpoint === 'Users') checkUser(resource, change);
    },
  };
}

function checkUser(user: StoredResource, change: 'create' | 'replace' | 'patch'): void {
  for (const name of singleValued) {
    const values = user[name];
    if (Array.isArray(values) && values.length > 1) throw validation(`Only one value is permitted for ${name}.`);
  }
  // createuser.html states these for CreateUser; PatchUser documents neither, so a patch is not held to them.
  if (change === 'patch') return;
  const name = (user.name ?? {}) as Json;
  const required: [string, unknown][] = [
    ['givenName', name.givenName],
    ['familyName', name.familyName],
    ['displayName', user.displayName],
  ];
  for (const [attribute, value] of required) {
    if (typeof value !== 'string' || value.trim() === '') throw validation(`The attribute ${attribute} is required.`);
  }
  const emails = user.emails as Json[] | undefined;
  if (emails?.[0] !== undefined && emails[0].primary !== true) throw validation('The emails value must be marked as primary.');
}

function refuseControlCharacters(value: unknown, path = ''): void {
  if (typeof value === 'string') {
    if (refusedCharacters.test(value)) throw validation(`${path} contains a tab, carriage return or line feed.`);
  } else if (Array.isArray(value)) {
    value.forEach((item) => refuseControlCharacters(item, path));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) if (key !== 'meta') refuseControlCharacters(item, path === '' ? key : `${path}.${key}`);
  }
}

/** The request side of the profile: what it refuses before the generic service is asked, and how it lists. */
export class IdentityCenterProfile {
  /** Signs cursors, so that one the service did not issue (or issued for another query) is refused. */
  private readonly cursorKey = randomBytes(32);

  constructor(
    private readonly resources: ScimResources,
    private readonly render: (resource: StoredResource) => Json,
    private readonly clock: Clock,
  ) {}

  /** Serves an authorised request, handing what Identity Center does as RFC 7644 does to `next`. */
  serve(route: ScimRoute, next: (route: ScimRoute) => ScimAnswer): ScimAnswer {
    const { method, endpoint, id } = route;
    // startIndex, attributes and excludedAttributes are "not supported" (listusers.html, listgroups.html) and
    // ignored, not refused: ssosync issue #1 shows `?count=10&startIndex=1` answered 200 with startIndex not applied.
    const { startIndex: _startIndex, attributes: _attributes, excludedAttributes: _excluded, ...query } = route.query;
    const plain = { ...route, query };
    if (endpoint === null) {
      if (route.collection === 'ServiceProviderConfig' && id === undefined && method === 'GET') {
        return { status: 200, body: serviceProviderConfig };
      }
      // /Bulk, /Me and /Search are not supported (limitations.html): there is nothing there, whatever the method.
      if (!discoveryEndpoints.has(route.collection)) throw notFound(`No SCIM endpoint /${route.collection}.`);
      return next(plain);
    }
    // PingFederate's AWS connector changelog 1.1.0.3: "By default, AWS IAM Identity Center blocks PATCH requests
    // that don't include this header". No status is published; 403 is the guide's AccessDeniedException.
    if (method === 'PATCH' && (route.userAgent ?? '').trim() === '') {
      throw new ScimServiceError(403, null, 'PATCH requests without a User-Agent header are not permitted.');
    }
    if (id === undefined && method === 'GET') return this.list(endpoint, query);
    return endpoint === 'Users' ? this.serveUser(plain, next) : this.serveGroup(plain, next);
  }

  /** Identity Center's error body: `schema` and `schemas`, no `scimType`, a request id and a time stamp. */
  renderError(error: ScimServiceError): Json {
    const detail =
      error.status === 409 && error.scimType === 'uniqueness'
        ? duplicate
        : error.status === 400 && error.scimType !== null
          ? unparsable
          : error.message;
    return {
      schema: [scimErrorSchemaUrn],
      schemas: [scimErrorSchemaUrn],
      detail,
      status: String(error.status),
      exceptionRequestId: randomUUID(),
      timeStamp: this.clock.now().toISOString().replace('T', ' ').slice(0, 23),
    };
  }

  private serveUser(route: ScimRoute, next: (route: ScimRoute) => ScimAnswer): ScimAnswer {
    switch (route.method) {
      case 'POST':
      case 'PUT':
        return next({ ...route, body: userBody(route.body) });
      case 'PATCH':
        checkUserPatch(route.body);
        return next(route);
      default:
        return next(route);
    }
  }

  private serveGroup(route: ScimRoute, next: (route: ScimRoute) => ScimAnswer): ScimAnswer {
    switch (route.method) {
      case 'POST': {
        const members = isObject(route.body) ? valueOf(route.body, 'members') : undefined;
        if (Array.isArray(members) && members.length > maxMembershipChanges) {
          throw validation(`A group can be created with at most ${maxMembershipChanges} members.`);
        }
        const answer = next(route);
        const { members: _members, ...created } = answer.body as Json;
        return { ...answer, body: created };
      }
      case 'GET': {
        const answer = next(route);
        return { ...answer, body: withoutMembers(answer.body as Json) };
      }
      case 'PUT':
        // The supported API operations (supported-apis.html) have PutUser but no PutGroup.
        throw validation('PUT is not supported for groups; use PATCH.');
      case 'PATCH':
        checkGroupPatch(route.body);
        return next(route);
      default:
        return next(route);
    }
  }

  /**
   * ListUsers / ListGroups. With `cursor` (empty for the first page) the answer pages by cursor: itemsPerPage,
   * nextCursor while more remain, Resources. Without it, one page of at most `count`, with startIndex 1 and a
   * totalResults that counts that page only (ssosync issue #1: totalResults 10 for count=10, 50 without).
   */
  private list(endpoint: ResourceEndpoint, query: Record<string, string>): ScimAnswer {
    const parsed = listQuerySchema.safeParse(query);
    if (!parsed.success) throw validation(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
    const { count, cursor } = parsed.data;
    const filter = parsed.data.filter?.trim() ?? '';
    const matches = this.matches(endpoint, filter);
    const present = (resources: Json[]) => (endpoint === 'Groups' ? resources.map(withoutMembers) : resources);
    if (cursor === undefined) {
      const { resources } = matches(0, count);
      const body = { schemas: [listResponseSchemaUrn], totalResults: resources.length, itemsPerPage: resources.length, startIndex: 1 };
      return { status: 200, body: { ...body, Resources: present(resources) } };
    }
    const offset = cursor === '' ? 0 : this.openCursor(cursor, endpoint, filter);
    const { resources, total } = matches(offset, count);
    const nextOffset = offset + resources.length;
    return {
      status: 200,
      body: {
        schemas: [listResponseSchemaUrn],
        itemsPerPage: resources.length,
        ...(nextOffset < total ? { nextCursor: this.cursor(nextOffset, endpoint, filter) } : {}),
        Resources: present(resources),
      },
    };
  }

  /** Pages of the matches of a supported filter, in creation order. */
  private matches(endpoint: ResourceEndpoint, filter: string): (offset: number, count: number) => { resources: Json[]; total: number } {
    const indexed = (text: string | undefined) => (offset: number, count: number) => {
      const list = this.resources.list(endpoint, { filter: text, startIndex: offset + 1, count }, this.render);
      return { resources: list.Resources as Json[], total: list.totalResults as number };
    };
    const listed = (found: StoredResource[]) => (offset: number, count: number) => ({
      resources: found.slice(offset, offset + count).map(this.render),
      total: found.length,
    });
    if (filter === '') return indexed(undefined);
    const terms = filterTerms(endpoint, filter);
    const find = (type: ResourceEndpoint, id: string | undefined) =>
      id === undefined ? undefined : this.resources.find(type, id);
    const membersOf = (group: StoredResource | undefined) => (group?.members as GroupMember[] | undefined) ?? [];
    if (terms.has('groups.value')) {
      const users = membersOf(find('Groups', terms.get('groups.value'))).map((member) => find('Users', member.value));
      return listed(users.filter((user) => user !== undefined));
    }
    if (terms.has('manager')) {
      const user = find('Users', terms.get('id'));
      const manager = (user?.[enterpriseUserSchemaUrn] as { manager?: { value?: unknown } } | undefined)?.manager?.value;
      return listed(user !== undefined && manager === terms.get('manager') ? [user] : []);
    }
    if (terms.has('members')) {
      const group = find('Groups', terms.get('id'));
      const isMember = membersOf(group).some((member) => member.value === terms.get('members'));
      return listed(group !== undefined && isMember ? [group] : []);
    }
    return indexed(filter);
  }

  private cursor(offset: number, endpoint: ResourceEndpoint, filter: string): string {
    return `${offset}:${this.sign(offset, endpoint, filter).toString('base64url')}`;
  }

  private openCursor(cursor: string, endpoint: ResourceEndpoint, filter: string): number {
    const match = /^(\d+):([-_a-zA-Z0-9]+)$/.exec(cursor);
    const offset = Number(match?.[1]);
    const signature = Buffer.from(match?.[2] ?? '', 'base64url');
    const expected = this.sign(offset, endpoint, filter);
    if (match === null || signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw validation('The cursor is not valid for this request.');
    }
    return offset;
  }

  private sign(offset: number, endpoint: ResourceEndpoint, filter: string): Buffer {
    return createHmac('sha256', this.cursorKey).update(`${endpoint}\n${filter}\n${offset}`).digest().subarray(0, 16);
  }
}

/**
 * The `attribute eq "value"` terms of a filter, keyed by lower-case attribute: only `eq`, joined by one `and`
 * (limitations.html), in the combinations of {@link supportedFilters}.
 */
function filterTerms(endpoint: ResourceEndpoint, text: string): Map<string, string> {
  const filter = parseScimFilter(text);
  const operands: Filter[] = filter.op === 'and' && 'filters' in filter ? filter.filters : [filter];
  const terms = new Map<string, string>();
  for (const operand of operands) {
    if (operand.op !== 'eq' || !('compValue' in operand) || typeof operand.compValue !== 'string') break;
    terms.set(operand.attrPath.toLowerCase(), operand.compValue);
  }
  const combination = [...terms.keys()].sort().join(' ');
  if (terms.size !== operands.length || !supportedFilters[endpoint].includes(combination)) {
    throw validation(`The filter '${text}' is not supported: only ${supportedFilters[endpoint].join(', ')} with eq.`);
  }
  // A membership filter with an empty id is refused (idp-scim-sync issue #75: `members eq ""` answered 400).
  for (const attribute of ['members', 'members.value', 'groups.value']) {
    if (terms.get(attribute) === '') throw validation(unparsable);
  }
  return terms;
}

/** A CreateUser / PutUser body with what Identity Center refuses refused and what it does not support dropped. */
function userBody(body: unknown): unknown {
  if (!isObject(body)) return body;
  if (valueOf(body, 'groups') !== undefined) throw validation('The groups attribute cannot be specified when creating a user.');
  const roles = valueOf(body, 'roles');
  if (Array.isArray(roles) && roles.some((role) => isObject(role) && valueOf(role, 'display') !== undefined)) {
    throw validation('The roles value cannot contain display; only value, type and primary are supported.');
  }
  const user = withoutKeys(body, unsupportedUserAttributes);
  for (const name of ['emails', 'addresses', 'phoneNumbers']) {
    const key = keyOf(user, name);
    const values = key === undefined ? undefined : user[key];
    if (key !== undefined && Array.isArray(values)) user[key] = values.map((item) => (isObject(item) ? withoutKeys(item, ['display']) : item));
  }
  const enterpriseKey = keyOf(user, enterpriseUserSchemaUrn);
  const enterprise = enterpriseKey === undefined ? undefined : user[enterpriseKey];
  if (enterpriseKey !== undefined && isObject(enterprise)) {
    const managerKey = keyOf(enterprise, 'manager');
    const manager = managerKey === undefined ? undefined : enterprise[managerKey];
    if (managerKey !== undefined && isObject(manager)) user[enterpriseKey] = { ...enterprise, [managerKey]: withoutKeys(manager, ['displayName']) };
  }
  return user;
}

/** PatchUser's constraints (patchuser.html). A body that is not a PatchOp is left to the generic service to refuse. */
function checkUserPatch(body: unknown): void {
  const parsed = patchBodySchema.safeParse(body);
  if (!parsed.success) return;
  const touches = new Map<string, number>();
  for (const operation of parsed.data.Operations) {
    requireValue(operation);
    for (const attribute of targets(operation, 'urn:ietf:params:scim:schemas:core:2.0:user:')) {
      if (!patchableUserAttributes.has(attribute)) throw validation(`The attribute ${attribute} cannot be modified.`);
      if (attribute !== 'username' && attribute !== 'active') continue;
      if (operation.op === 'remove') throw validation('The remove operation is not supported for userName or active.');
      touches.set(attribute, (touches.get(attribute) ?? 0) + 1);
    }
  }
  if ([...touches.values()].some((count) => count > 1)) {
    throw validation('Multiple operations on userName or active in one request are not supported.');
  }
}

/** PatchGroup's constraints (patchgroup.html): no replace or remove-all of members, at most 100 member changes. */
function checkGroupPatch(body: unknown): void {
  const parsed = patchBodySchema.safeParse(body);
  if (!parsed.success) return;
  let changes = 0;
  for (const operation of parsed.data.Operations) {
    requireValue(operation);
    const { op, path, value } = operation;
    for (const attribute of targets(operation, 'urn:ietf:params:scim:schemas:core:2.0:group:')) {
      if (!patchableGroupAttributes.has(attribute)) throw validation(`Only displayName, members and externalId can be patched, not ${attribute}.`);
      if (attribute !== 'members') continue;
      if (op === 'replace') throw validation('Replacing all group memberships is not supported.');
      const members = path === undefined ? valueOf(value as Json, 'members') : value;
      // `members[value eq "id"]` names one member; a bare `members` with no member list would remove them all.
      if (path !== undefined && path.includes('[')) changes += 1;
      else if (Array.isArray(members) && members.length > 0) changes += members.length;
      else if (op === 'remove') throw validation('Removing all group memberships is not supported.');
    }
  }
  // Identity Center gives its generic detail here (idp-scim-sync issue #62).
  if (changes > maxMembershipChanges) throw validation(unparsable);
}

function requireValue({ op, value }: PatchOperation): void {
  if ((op === 'add' || op === 'replace') && (value === undefined || value === null)) throw validation(`A value is required for ${op}.`);
}

/** The top-level attributes an operation touches, lower case, with `enterprise` for the enterprise extension. */
function targets({ path, value }: PatchOperation, coreUrn: string): string[] {
  const names = path !== undefined ? [path] : isObject(value) ? Object.keys(value).filter((key) => key.toLowerCase() !== 'id') : [];
  if (names.length === 0) throw validation(unparsable);
  return names.map((name) => {
    const lower = name.toLowerCase();
    if (lower.startsWith(enterpriseUserSchemaUrn.toLowerCase())) return 'enterprise';
    const attribute = lower.startsWith(coreUrn) ? lower.slice(coreUrn.length) : lower;
    return attribute.split(/[.[]/)[0] as string;
  });
}

/** `/ServiceProviderConfig` as serviceproviderconfig.html shows it, with the 100-result pages of today's guide. */
const serviceProviderConfig: Json = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
  documentationUri: `${guide}/what-is-scim.html`,
  authenticationSchemes: [
    {
      type: 'oauthbearertoken',
      name: 'OAuth Bearer Token',
      description: 'Authentication scheme using the OAuth Bearer Token Standard',
      specUri: 'https://www.rfc-editor.org/info/rfc6750',
      documentationUri: 'https://docs.aws.amazon.com/singlesignon/latest/userguide/provision-automatically.html',
      primary: true,
    },
  ],
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
  filter: { supported: true, maxResults: maxPage },
  changePassword: { supported: false },
  sort: { supported: false },
  etag: { supported: false },
};

/** GetGroup and ListGroups "return an empty member list" (getgroup.html, listgroups.html). */
function withoutMembers(group: Json): Json {
  return { ...group, members: [] };
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Attribute names are case-insensitive (RFC 7643 §2.1). */
function keyOf(object: Json, name: string): string | undefined {
  return Object.keys(object).find((key) => key.toLowerCase() === name.toLowerCase());
}

function valueOf(object: Json, name: string): unknown {
  const key = keyOf(object, name);
  return key === undefined ? undefined : object[key];
}

function withoutKeys(object: Json, names: string[]): Json {
  const lower = new Set(names.map((name) => name.toLowerCase()));
  return Object.fromEntries(Object.entries(object).filter(([key]) => !lower.has(key.toLowerCase())));
}
