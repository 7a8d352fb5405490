import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { z } from 'zod';
import { systemClock, type Clock } from '../../functions/ports/clock.ts';
import {
  BadRequestError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceError,
} from '../../functions/errors/service-errors.ts';
import { DeltaQuery, type DeltaResponse } from './delta-query.ts';
import { seedDemoDirectory } from './demo-seed.ts';
import { DirectoryFile } from './directory-file.ts';
import {
  appRoleAssignmentCreateSchema,
  groupCreateSchema,
  groupPatchSchema,
  memberRefSchema,
  servicePrincipalCreateSchema,
  type StoredServicePrincipal,
  userCreateSchema,
  userPatchSchema,
  type ObjectKind,
} from './directory-schemas.ts';
import { DirectoryState, type DirectoryRecord } from './directory-state.ts';
import { graphType, parseSelect, renderProperties } from './graph-json.ts';
import { LOCAL_TENANT_ID } from '../local-auth.ts';
import { NotificationDelivery, type DeliveryOptions } from './notification-delivery.ts';
import { subscriptionCreateSchema, subscriptionPatchSchema, type StoredSubscription } from './subscription-schemas.ts';
import { LOCAL_SUBSCRIBER_APP_ID, SubscriptionRegistry, type Outgoing, type SubscriptionOptions } from './subscriptions.ts';

export interface LocalDirectoryOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /**
   * JSON file the directory lives in; it survives restarts and crashes (every change is on disk before it is
   * answered). Without one the directory is in memory only.
   */
  dataFile?: string;
  /** Demo users seeded into a new (empty) directory; default 25, 0 = none. */
  seedUsers?: number;
  /** Demo groups seeded into a new directory, with memberships; default 3. */
  seedGroups?: number;
  /** Members of each seeded group, by index (see seedDemoDirectory); by department when absent. */
  seedGroupSizes?: readonly number[];
  /** Service principals a new directory starts with (besides the demo seed's), e.g. the one a test's job is under. */
  servicePrincipals?: { id: string; appId: string; displayName: string }[];
  /** Objects per delta page; default 100. Given, it is also the most a `Prefer: odata.maxpagesize` gets (else 999). */
  pageSize?: number;
  /** Member changes of one group per delta page; default 100. */
  memberLimit?: number;
  /** Age after which delta tokens answer 410 Gone; default 7 days, as Graph. */
  tokenRetentionMs?: number;
  /** Change notifications (`/subscriptions`); every field has Graph's value by default. */
  notifications?: Partial<NotificationOptions>;
  clock?: Clock;
}

/**
 * `tenantId` (default the local stack's, LOCAL_TENANT_ID) goes into every notification; `applicationId` is what
 * subscriptions answer as their creator. The rest: see {@link DeliveryOptions} and {@link SubscriptionOptions}.
 */
export type NotificationOptions = SubscriptionOptions & DeliveryOptions;

const DEFAULT_NOTIFICATION_OPTIONS: NotificationOptions = {
  tenantId: LOCAL_TENANT_ID,
  applicationId: LOCAL_SUBSCRIBER_APP_ID,
  validationTimeoutMs: 10_000,
  batchWindowMs: 50,
  maxBatchSize: 100,
  responseTimeoutMs: 3_000,
  retryWindowMs: 4 * 60 * 60 * 1000,
  retryDelayMs: 10_000,
  maxRetryDelayMs: 10 * 60 * 1000,
};

export interface LocalDirectory {
  /** Graph base URL, e.g. `http://127.0.0.1:41234/v1.0`. */
  url: string;
  /** Stops serving (after the data file holds every change). */
  close(): Promise<void>;
  /** Expires every delta/skip token issued so far: their next use answers 410 Gone (`resyncRequired`). */
  expireDeltaTokens(): void;
  /** Resolves once the data file holds every change made so far. */
  flush(): Promise<void>;
  /** The tenant id that change notifications carry. */
  tenantId: string;
  /** The live (unexpired) change-notification subscriptions, as `GET /subscriptions` lists them. */
  subscriptions(): StoredSubscription[];
  /**
   * Sends every notification due now (on the directory's clock) without waiting for the batch window or the
   * retry delay; resolves once each has been attempted. Failed ones wait for their next retry, or are dropped
   * when the retry window has passed.
   */
  deliverNow(): Promise<void>;
  /** Notifications waiting to be sent or retried. */
  pendingNotifications(): number;
  /**
   * Queues a `reauthorizationRequired` lifecycle notification to the subscription's lifecycleNotificationUrl, as
   * Graph sends one when the subscriber must reauthorize. Throws for an unknown subscription or one without a
   * lifecycle URL.
   */
  requestReauthorization(subscriptionId: string): void;
}

interface Reply {
  status: number;
  /** JSON body. */
  body?: unknown;
  /** Plain-text body (`$count`). */
  text?: string;
  headers?: Record<string, string>;
}

interface RouteContext {
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

type Handler = (context: RouteContext) => Reply | Promise<Reply>;

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const MAX_TOP = 999;
const DAY_MS = 24 * 60 * 60 * 1000;
const JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;charset=utf-8';
const TEXT_TYPE = 'text/plain;charset=utf-8';

/**
 * Starts a Microsoft Graph–compatible directory (users, groups, memberships, deleted items and delta query under
 * `/v1.0`) on node:http. Any bearer token, or none, is accepted.
 */
export async function startLocalDirectory(options: LocalDirectoryOptions = {}): Promise<LocalDirectory> {
  const clock = options.clock ?? systemClock;
  const tokenRetentionMs = options.tokenRetentionMs ?? 7 * DAY_MS;
  // An option given as undefined (an unset variable, say) keeps its default.
  const given = Object.entries(options.notifications ?? {}).filter(([, value]) => value !== undefined);
  const notificationOptions: NotificationOptions = { ...DEFAULT_NOTIFICATION_OPTIONS, ...Object.fromEntries(given) };
  const file = options.dataFile
    ? new DirectoryFile(options.dataFile, () => {
        state.compactLog(clock.now().getTime() - tokenRetentionMs);
        return { ...state.toJSON(), subscriptions: subscriptions.toJSON() };
      })
    : null;
  const saved = file ? await file.load() : null;
  const onChange = () => file?.changed();
  const subscriptions = new SubscriptionRegistry(clock, notificationOptions, onChange, saved?.subscriptions);
  const state: DirectoryState = saved ? DirectoryState.restore(saved, clock, onChange) : new DirectoryState(clock, onChange);
  if (!saved) {
    seedDemoDirectory(state, {
      users: options.seedUsers ?? 25,
      groups: options.seedGroups ?? 3,
      ...(options.seedGroupSizes ? { groupSizes: options.seedGroupSizes } : {}),
    });
    for (const { id, ...principal } of options.servicePrincipals ?? []) state.createServicePrincipal(principal, id);
    await file?.persist();
  }
  const persist = async () => {
    await file?.persist();
  };
  const delivery = new NotificationDelivery(clock, notificationOptions, (id) => subscriptions.isLive(id));
  const send = ({ url, subscriptionId, key, payload }: Outgoing) => delivery.enqueue(url, subscriptionId, key, payload);
  state.watch((change) => subscriptions.notificationsFor(change).forEach(send));

  let baseUrl = '';
  const delta = new DeltaQuery(
    state,
    clock,
    { pageSize: options.pageSize ?? 100, memberLimit: options.memberLimit ?? 100, tokenRetentionMs },
    (kind, select) => deltaUrl(baseUrl, kind, select ? { $select: select.join(',') } : {}),
  );
  const routes = [
    ...buildRoutes(state, delta, () => baseUrl, options.pageSize ?? 999),
    ...subscriptionRoutes(subscriptions, () => baseUrl),
  ];

  const server = createServer((request, response) => {
    void serve(routes, persist, request, response);
  });
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  baseUrl = `http://${urlHost}:${port}/v1.0`;

  return {
    url: baseUrl,
    async close() {
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await delivery.close();
      await persist();
    },
    expireDeltaTokens: () => {
      state.expireTokens();
      persist().catch((error: unknown) => console.error('Saving the local directory failed:', error));
    },
    flush: persist,
    tenantId: notificationOptions.tenantId,
    subscriptions: () => subscriptions.list(),
    deliverNow: () => delivery.deliverNow(),
    pendingNotifications: () => delivery.size,
    requestReauthorization: (subscriptionId) => send(subscriptions.reauthorizationRequired(subscriptionId)),
  };
}

/** `/subscriptions`, as Graph's change-notification API for users and groups. */
function subscriptionRoutes(subscriptions: SubscriptionRegistry, base: () => string) {
  const entity = (subscription: StoredSubscription, status = 200): Reply => ({
    status,
    body: { '@odata.context': `${base()}/$metadata#subscriptions/$entity`, ...subscription },
  });
  const typeName = 'microsoft.graph.subscription';
  const routes: Array<[string, string, Handler]> = [
    ['GET', 'subscriptions', () => ({ status: 200, body: { '@odata.context': `${base()}/$metadata#subscriptions`, value: subscriptions.list() } })],
    ['POST', 'subscriptions', async ({ body }) => entity(await subscriptions.create(parseBody(subscriptionCreateSchema, body, typeName)), 201)],
    ['GET', 'subscriptions/:id', ({ params }) => entity(subscriptions.get(params.id!))],
    ['PATCH', 'subscriptions/:id', async ({ params, body }) => entity(await subscriptions.update(params.id!, parseBody(subscriptionPatchSchema, body, typeName)))],
    [
      'DELETE',
      'subscriptions/:id',
      ({ params }) => {
        subscriptions.delete(params.id!);
        return { status: 204 };
      },
    ],
    [
      // Graph's answer to a reauthorizationRequired challenge; nothing is authorized locally, so it only checks the id.
      'POST',
      'subscriptions/:id/reauthorize',
      ({ params }) => {
        subscriptions.get(params.id!);
        return { status: 204 };
      },
    ],
  ];
  return routes.map(([method, pattern, handler]) => ({ method, segments: pattern.split('/'), handler }));
}

function deltaUrl(base: string, kind: ObjectKind, query: Record<string, string>): string {
  const search = new URLSearchParams(query).toString().replaceAll('%24', '$').replaceAll('%2C', ',');
  return `${base}/${kind}s/delta${search ? `?${search}` : ''}`;
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, typeName: string, keepAnnotations = false): T {
  const withoutAnnotations =
    !keepAnnotations && body && typeof body === 'object' && !Array.isArray(body)
      ? Object.fromEntries(Object.entries(body).filter(([key]) => !key.startsWith('@odata.')))
      : body;
  const parsed = schema.safeParse(withoutAnnotations);
  if (parsed.success) return parsed.data;
  const messages = parsed.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => `Property '${key}' does not exist on type '${typeName}'.`).join(' ')
      : `Invalid value for '${issue.path.join('.') || 'body'}': ${issue.message}.`,
  );
  throw new BadRequestError(messages.join(' '), 'Request_BadRequest');
}

function buildRoutes(state: DirectoryState, delta: DeltaQuery, base: () => string, maxPageSize: number) {
  const context = (path: string) => `${base()}/$metadata#${path}`;

  const single = (record: DirectoryRecord, contextPath: string, status = 200): Reply => ({
    status,
    body: { '@odata.context': context(contextPath), ...renderProperties(record, null, true) },
  });

  /** A directory object whose kind the path does not tell: typed with `@odata.type`. */
  const typedObject = (record: DirectoryRecord, contextPath: string, select: string[] | null = null): Reply => ({
    status: 200,
    body: { '@odata.context': context(contextPath), '@odata.type': graphType[record.kind], ...renderProperties(record, select, true) },
  });

  /**
   * `GET /users/$count`: the number as text/plain. Graph counts directory objects only in advanced queries, i.e.
   * with `ConsistencyLevel: eventual`; without it the answer is 400.
   */
  const count = (records: DirectoryRecord[], query: URLSearchParams, headers: IncomingHttpHeaders): Reply => {
    if (String(headers.consistencylevel ?? '').toLowerCase() !== 'eventual') {
      throw new BadRequestError('$count is not currently supported.', 'Request_BadRequest');
    }
    return { status: 200, text: String(applyFilter(records, query.get('$filter')).length) };
  };

  /** A plain list with `$top` and `@odata.nextLink` paging (`$skiptoken` an offset). */
  const pagedJson = (items: unknown[], query: URLSearchParams, path: string, contextPath = path): Reply => {
    const top = query.has('$top') ? Number(query.get('$top')) : 100;
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      throw new BadRequestError(`Invalid page size specified: '${query.get('$top')}'. Must be between 1 and ${MAX_TOP} inclusive.`, 'Request_BadRequest');
    }
    const offset = query.has('$skiptoken') ? Number(query.get('$skiptoken')) : 0;
    if (!Number.isInteger(offset) || offset < 0) throw new BadRequestError('The skip token is not valid.', 'Request_BadRequest');
    const body: Record<string, unknown> = { '@odata.context': context(contextPath), value: items.slice(offset, offset + top) };
    if (offset + top < items.length) {
      const next = new URLSearchParams(query);
      next.set('$skiptoken', String(offset + top));
      body['@odata.nextLink'] = `${base()}/${path}?${next.toString().replaceAll('%24', '$')}`;
    }
    return { status: 200, body };
  };
  const list = (
    records: DirectoryRecord[],
    query: URLSearchParams,
    path: string,
    kind: ObjectKind,
    withType: boolean,
  ): Reply => {
    const select = parseSelect(kind, query.get('$select'));
    const rendered = applyFilter(records, query.get('$filter')).map((record) => ({
      ...(withType ? { '@odata.type': graphType[record.kind] } : {}),
      ...renderProperties(record, select, !withType),
    }));
    return pagedJson(rendered, query, path, select ? `${path}(${select.join(',')})` : path);
  };

  const deltaReply = (kind: ObjectKind, response: DeltaResponse): Reply => {
    const { select } = response;
    const link =
      response.next.phase === 'skip'
        ? { '@odata.nextLink': deltaUrl(base(), kind, { $skiptoken: response.next.token }) }
        : { '@odata.deltaLink': deltaUrl(base(), kind, { $deltatoken: response.next.token }) };
    const contextPath = select ? `${kind}s(${select.join(',')})` : `${kind}s`;
    return { status: 200, body: { '@odata.context': context(contextPath), ...link, value: response.value } };
  };

  const deltaRoute = (kind: ObjectKind): Handler => ({ query, headers }) => {
    const select = parseSelect(kind, query.get('$select'), kind === 'group');
    const deltaToken = query.get('$deltatoken');
    const skipToken = query.get('$skiptoken') ?? query.get('$skipToken');
    // `Prefer: odata.maxpagesize=N`, as Graph: honoured up to the directory's maximum, and said so.
    const preferred = /odata\.maxpagesize=(\d+)/i.exec(String(headers.prefer ?? ''))?.[1];
    const pageSize = preferred === undefined ? undefined : Math.max(1, Math.min(Number(preferred), maxPageSize));
    const reply = (response: DeltaResponse): Reply => ({
      ...deltaReply(kind, response),
      ...(pageSize === undefined ? {} : { headers: { 'preference-applied': `odata.maxpagesize=${pageSize}` } }),
    });
    if (deltaToken === 'latest') return reply(delta.latest(kind, select));
    if (deltaToken !== null) return reply(delta.fromDeltaToken(kind, deltaToken, pageSize));
    if (skipToken !== null) return reply(delta.fromSkipToken(kind, skipToken, pageSize));
    return reply(delta.startFull(kind, select, pageSize));
  };

  const memberIdFromRef = (body: unknown): string => idFromReference(parseBody(memberRefSchema, body, 'microsoft.graph.directoryObject', true)['@odata.id']);

  const idFromReference = (ref: string): string => {
    const match = /\/(?:directoryObjects|users|groups)\/([^/?#]+)\/?$/.exec(ref);
    if (!match) throw new BadRequestError(`Invalid object identifier '${ref}'.`, 'Request_BadRequest');
    return decodeURIComponent(match[1]!);
  };

  const objectRoutes = (kind: ObjectKind): Array<[string, string, Handler]> => {
    const plural = `${kind}s`;
    const typeName = `microsoft.graph.${kind}`;
    return [
      ['GET', plural, ({ query }) => list(state.list(kind, 'active'), query, plural, kind, false)],
      ['GET', `${plural}/$count`, ({ query, headers }) => count(state.list(kind, 'active'), query, headers)],
      [
        'POST',
        plural,
        ({ body }) =>
          single(
            kind === 'user'
              ? state.createUser(parseBody(userCreateSchema, body, typeName))
              : state.createGroup(parseBody(groupCreateSchema, body, typeName)),
            `${plural}/$entity`,
            201,
          ),
      ],
      ['GET', `${plural}/delta`, deltaRoute(kind)],
      [
        'GET',
        `${plural}/:id`,
        ({ params, query }) => {
          const record = state.get(kind, params.id!);
          const select = parseSelect(kind, query.get('$select'));
          // `$expand=manager` (optionally `manager($select=id)`): the manager inline, absent when there is none.
          const expand = query.get('$expand');
          if (expand !== null && !(kind === 'user' && /^manager(\(\$select=[\w,]+\))?$/.test(expand))) {
            throw new BadRequestError(`Parsing OData Select and Expand failed: Could not find a property named '${expand}' on type '${typeName}'.`, 'Request_BadRequest');
          }
          const manager = expand === null ? undefined : state.managerOf(record.id);
          return {
            status: 200,
            body: {
              '@odata.context': context(`${plural}/$entity`),
              ...renderProperties(record, select, true),
              ...(manager ? { manager: { '@odata.type': graphType.user, ...renderProperties(manager, ['id', 'displayName']) } } : {}),
            },
          };
        },
      ],
      [
        'PATCH',
        `${plural}/:id`,
        ({ params, body }) => {
          if (kind === 'user') state.updateUser(params.id!, parseBody(userPatchSchema, body, typeName));
          else {
            const { 'members@odata.bind': members = [], ...patch } = parseBody(groupPatchSchema, body, typeName);
            const ids = members.map(idFromReference);
            // Every reference is checked before anything changes: a refused request changes nothing.
            if (ids.length > 0) state.addMembers(params.id!, ids, { checkOnly: true });
            if (Object.keys(patch).length > 0) state.updateGroup(params.id!, patch);
            if (ids.length > 0) state.addMembers(params.id!, ids);
          }
          return { status: 204 };
        },
      ],
      [
        'DELETE',
        `${plural}/:id`,
        ({ params }) => {
          state.delete(kind, params.id!);
          return { status: 204 };
        },
      ],
    ];
  };

  /** Graph's appRoleAssignment JSON. */
  const assignmentJson = (principal: StoredServicePrincipal, assignment: StoredServicePrincipal['assignments'][number]) => {
    const assignee = state.find(assignment.principalId);
    return {
      id: assignment.id,
      appRoleId: assignment.appRoleId,
      createdDateTime: assignment.createdDateTime,
      deletedDateTime: null,
      principalDisplayName: (assignee?.properties.displayName as string | undefined) ?? null,
      principalId: assignment.principalId,
      principalType: assignment.principalType,
      resourceDisplayName: principal.displayName,
      resourceId: principal.id,
    };
  };
  const servicePrincipalJson = (principal: StoredServicePrincipal) => ({
    id: principal.id,
    appId: principal.appId,
    displayName: principal.displayName,
    accountEnabled: true,
    appRoles: [],
    createdDateTime: principal.createdDateTime,
    servicePrincipalType: 'Application',
  });
  const transitive = (records: DirectoryRecord[], query: URLSearchParams, path: string, kind: ObjectKind): Reply =>
    list(records.filter((record) => record.kind === kind), query, path, kind, true);

  const routes: Array<[string, string, Handler]> = [
    ...objectRoutes('user'),
    ...objectRoutes('group'),
    ['GET', 'servicePrincipals', ({ query }) => pagedJson(state.listServicePrincipals().map(servicePrincipalJson), query, 'servicePrincipals')],
    [
      'POST',
      'servicePrincipals',
      ({ body }) => ({
        status: 201,
        body: { '@odata.context': context('servicePrincipals/$entity'), ...servicePrincipalJson(state.createServicePrincipal(parseBody(servicePrincipalCreateSchema, body, 'microsoft.graph.servicePrincipal'))) },
      }),
    ],
    ['GET', 'servicePrincipals/:id', ({ params }) => ({ status: 200, body: { '@odata.context': context('servicePrincipals/$entity'), ...servicePrincipalJson(state.getServicePrincipal(params.id!)) } })],
    [
      'DELETE',
      'servicePrincipals/:id',
      ({ params }) => {
        state.deleteServicePrincipal(params.id!);
        return { status: 204 };
      },
    ],
    [
      'GET',
      'servicePrincipals/:id/appRoleAssignedTo',
      ({ params, query }) => {
        const principal = state.getServicePrincipal(params.id!);
        return pagedJson(principal.assignments.map((assignment) => assignmentJson(principal, assignment)), query, `servicePrincipals/${principal.id}/appRoleAssignedTo`);
      },
    ],
    [
      'POST',
      'servicePrincipals/:id/appRoleAssignedTo',
      ({ params, body }) => {
        const principal = state.getServicePrincipal(params.id!);
        const assignment = state.assign(principal.id, parseBody(appRoleAssignmentCreateSchema, body, 'microsoft.graph.appRoleAssignment'));
        return { status: 201, body: { '@odata.context': context(`servicePrincipals/${principal.id}/appRoleAssignedTo/$entity`), ...assignmentJson(principal, assignment) } };
      },
    ],
    [
      'GET',
      'servicePrincipals/:id/appRoleAssignedTo/:assignmentId',
      ({ params }) => {
        const principal = state.getServicePrincipal(params.id!);
        const assignment = principal.assignments.find((candidate) => candidate.id === params.assignmentId);
        if (!assignment) throw new NotFoundError(`Resource '${params.assignmentId}' does not exist or one of its queried reference-property objects are not present.`);
        return { status: 200, body: { '@odata.context': context(`servicePrincipals/${principal.id}/appRoleAssignedTo/$entity`), ...assignmentJson(principal, assignment) } };
      },
    ],
    [
      'DELETE',
      'servicePrincipals/:id/appRoleAssignedTo/:assignmentId',
      ({ params }) => {
        state.unassign(params.id!, params.assignmentId!);
        return { status: 204 };
      },
    ],
    [
      'GET',
      'users/:id/manager',
      ({ params }) => {
        const manager = state.managerOf(params.id!);
        if (!manager) throw new NotFoundError(`Resource 'manager' does not exist or one of its queried reference-property objects are not present.`);
        return typedObject(manager, 'directoryObjects/$entity');
      },
    ],
    [
      'PUT',
      'users/:id/manager/$ref',
      ({ params, body }) => {
        state.setManager(params.id!, memberIdFromRef(body));
        return { status: 204 };
      },
    ],
    [
      'DELETE',
      'users/:id/manager/$ref',
      ({ params }) => {
        state.removeManager(params.id!);
        return { status: 204 };
      },
    ],
    [
      'GET',
      'groups/:id/transitiveMembers/microsoft.graph.user',
      ({ params, query }) => transitive(state.transitiveMembers(params.id!), query, `groups/${params.id}/transitiveMembers/microsoft.graph.user`, 'user'),
    ],
    [
      'GET',
      'groups/:id/transitiveMemberOf/microsoft.graph.group',
      ({ params, query }) => {
        state.get('group', params.id!);
        return transitive(state.transitiveMemberOf(params.id!), query, `groups/${params.id}/transitiveMemberOf/microsoft.graph.group`, 'group');
      },
    ],
    [
      'GET',
      'users/:id/transitiveMemberOf/microsoft.graph.group',
      ({ params, query }) => {
        state.get('user', params.id!);
        return transitive(state.transitiveMemberOf(params.id!), query, `users/${params.id}/transitiveMemberOf/microsoft.graph.group`, 'group');
      },
    ],
    [
      'GET',
      'users/:id/transitiveMemberOf',
      ({ params, query }) => {
        state.get('user', params.id!);
        return list(state.transitiveMemberOf(params.id!), query, `users/${params.id}/transitiveMemberOf`, 'group', true);
      },
    ],
    [
      'GET',
      'groups/:id/members',
      ({ params, query }) => {
        const group = state.get('group', params.id!);
        const members = state.presentMembers(group).map((member) => state.find(member.id)!);
        return list(members, query, `groups/${group.id}/members`, 'user', true);
      },
    ],
    [
      'GET',
      'users/:id/memberOf',
      ({ params, query }) => {
        const user = state.get('user', params.id!);
        return list(state.groupsOf(user.id), query, `users/${user.id}/memberOf`, 'group', true);
      },
    ],
    [
      'POST',
      'groups/:id/members/$ref',
      ({ params, body }) => {
        state.addMember(params.id!, memberIdFromRef(body));
        return { status: 204 };
      },
    ],
    [
      'DELETE',
      'groups/:id/members/:memberId/$ref',
      ({ params }) => {
        state.removeMember(params.id!, params.memberId!);
        return { status: 204 };
      },
    ],
    [
      'GET',
      'directoryObjects/:id',
      ({ params }) => typedObject(state.get(state.find(params.id!)?.kind ?? 'user', params.id!), 'directoryObjects/$entity'),
    ],
    ...(['user', 'group'] as const).map(
      (kind): [string, string, Handler] => [
        'GET',
        `directory/deletedItems/microsoft.graph.${kind}`,
        ({ query }) => list(state.list(kind, 'softDeleted'), query, `directory/deletedItems/microsoft.graph.${kind}`, kind, true),
      ],
    ),
    [
      'GET',
      'directory/deletedItems/:id',
      ({ params, query }) => {
        const record = state.getDeleted(params.id!);
        return typedObject(record, 'directoryObjects/$entity', parseSelect(record.kind, query.get('$select')));
      },
    ],
    [
      'DELETE',
      'directory/deletedItems/:id',
      ({ params }) => {
        state.purge(params.id!);
        return { status: 204 };
      },
    ],
    [
      'POST',
      'directory/deletedItems/:id/restore',
      ({ params }) => typedObject(state.restoreDeleted(params.id!), 'directoryObjects/$entity'),
    ],
  ];
  return routes.map(([method, pattern, handler]) => ({ method, segments: pattern.split('/'), handler }));
}

type Route = ReturnType<typeof buildRoutes>[number];

/** Graph's `$filter` for lists, as far as clients of a directory need it: `<property> eq '<value>'`. */
function applyFilter(records: DirectoryRecord[], filter: string | null): DirectoryRecord[] {
  if (filter === null || filter.trim() === '') return records;
  const match = /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(filter);
  if (!match) {
    throw new BadRequestError(`Unsupported or invalid query filter clause specified: '${filter}'.`, 'Request_UnsupportedQuery');
  }
  const [, property, quoted] = match;
  const wanted = quoted!.replaceAll("''", "'").toLowerCase();
  return records.filter((record) =>
    property === 'id' ? record.id.toLowerCase() === wanted : String(record.properties[property!] ?? '').toLowerCase() === wanted,
  );
}

function match(routes: Route[], method: string, segments: string[]): { route: Route; params: Record<string, string> } {
  const allowed: string[] = [];
  for (const route of routes) {
    if (route.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const fits = route.segments.every((part, i) => {
      if (part.startsWith(':')) return (params[part.slice(1)] = segments[i]!) !== '';
      return part === segments[i];
    });
    if (!fits) continue;
    if (route.method === method) return { route, params };
    allowed.push(route.method);
  }
  if (allowed.length > 0) throw new MethodNotAllowedError(method, allowed);
  throw new NotFoundError(`Resource not found for the segment '${segments.at(-1) ?? ''}'.`);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(MAX_BODY_BYTES);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BadRequestError('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.', 'BadRequest');
  }
}

async function serve(
  routes: Route[],
  persist: () => Promise<void>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const requestId = randomUUID();
  const clientRequestId = request.headers['client-request-id']?.toString() || randomUUID();
  const ids = { 'request-id': requestId, 'client-request-id': clientRequestId };
  let reply: Reply;
  try {
    const url = new URL(request.url ?? '/', 'http://local');
    if (!url.pathname.startsWith('/v1.0/')) throw new NotFoundError(`Resource not found for the segment '${url.pathname}'.`);
    const segments = url.pathname.slice('/v1.0/'.length).replace(/\/$/, '').split('/').map(decodeURIComponent);
    const method = request.method ?? 'GET';
    const { route, params } = match(routes, method, segments);
    const body = method === 'POST' || method === 'PATCH' || method === 'PUT' ? await readJson(request) : undefined;
    reply = await route.handler({ params, query: url.searchParams, headers: request.headers, body });
  } catch (error) {
    reply = renderError(error, ids);
  }
  try {
    // Nothing is answered before the state it shows is on disk: neither a change nor a read (a delta token) that
    // saw it. Otherwise a crash could take back what a client was told.
    await persist();
  } catch (error) {
    console.error('Saving the local directory failed:', error);
    reply = renderError(new ServiceError(500, 'generalException', 'The change could not be saved.'), ids);
  }
  const headers: Record<string, string> = { ...ids, ...reply.headers };
  if (reply.text !== undefined) {
    response
      .writeHead(reply.status, { ...headers, 'content-type': TEXT_TYPE, 'content-length': Buffer.byteLength(reply.text) })
      .end(reply.text);
    return;
  }
  if (reply.body === undefined) {
    response.writeHead(reply.status, headers).end();
    return;
  }
  const payload = JSON.stringify(reply.body);
  response
    .writeHead(reply.status, { ...headers, 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(payload) })
    .end(payload);
}

function renderError(error: unknown, ids: Record<string, string>): Reply {
  const known = error instanceof ServiceError ? error : null;
  if (!known) console.error('Local directory request failed:', error);
  return {
    status: known?.statusCode ?? 500,
    headers: known?.headers ?? {},
    body: {
      error: {
        code: known?.code ?? 'generalException',
        message: known?.message ?? 'An internal server error occurred.',
        innerError: { date: new Date().toISOString().slice(0, 19), ...ids },
      },
    },
  };
}
