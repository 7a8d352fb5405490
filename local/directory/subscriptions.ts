import { randomUUID } from 'node:crypto';
import type { Clock } from '../../functions/ports/clock.ts';
import { BadRequestError, ServiceError } from '../../functions/errors/service-errors.ts';
import type { ObjectKind } from './directory-schemas.ts';
import type { ObjectChange } from './directory-state.ts';
import type {
  ChangeNotification,
  LifecycleNotification,
  StoredSubscription,
  SubscriptionCreate,
  SubscriptionPatch,
} from './subscription-schemas.ts';

/** Graph's longest lifetime of a user or group subscription: 41,760 minutes (under 29 days). */
export const MAX_SUBSCRIPTION_MINUTES = 41_760;
/** Graph's quota per application and tenant, for each resource type (users, groups). */
export const MAX_SUBSCRIPTIONS_PER_RESOURCE = 100;
/** The application the local directory takes every subscriber for (its tokens are not checked). */
export const LOCAL_SUBSCRIBER_APP_ID = '00000000-0000-4000-8000-000000000002';

export interface SubscriptionOptions {
  tenantId: string;
  /** Answered as `applicationId`, and as `creatorId` (an app-only subscriber). */
  applicationId: string;
  /** The notification URL must answer the validation request within this; Graph: 10 s. */
  validationTimeoutMs: number;
}

/** A notification ready for the outbox. */
export interface Outgoing {
  url: string;
  subscriptionId: string;
  key: string;
  payload: ChangeNotification | LifecycleNotification;
}

const graphTypeOf: Record<ObjectKind, ChangeNotification['resourceData']['@odata.type']> = {
  user: '#Microsoft.Graph.User',
  group: '#Microsoft.Graph.Group',
};
const resourcePathOf: Record<ObjectKind, string> = { user: 'Users', group: 'Groups' };

/**
 * The directory's change-notification subscriptions (`/subscriptions`), with Graph's checks: supported resources
 * and change types, lifetime, quota, and the validation handshake with each notification URL before a
 * subscription exists. An expired subscription is removed the next time any is looked at.
 */
export class SubscriptionRegistry {
  private readonly byId = new Map<string, StoredSubscription>();

  constructor(
    private readonly clock: Clock,
    private readonly options: SubscriptionOptions,
    private readonly onChange: () => void,
    saved: readonly StoredSubscription[] = [],
  ) {
    for (const subscription of saved) this.byId.set(subscription.id, subscription);
  }

  toJSON(): StoredSubscription[] {
    return [...this.byId.values()];
  }

  list(): StoredSubscription[] {
    this.removeExpired();
    return [...this.byId.values()];
  }

  get(id: string): StoredSubscription {
    this.removeExpired();
    const subscription = this.byId.get(id);
    if (!subscription) throw new ServiceError(404, 'ResourceNotFound', `The object '${id}' was not found.`);
    return subscription;
  }

  isLive(id: string): boolean {
    const subscription = this.byId.get(id);
    return subscription !== undefined && !this.expired(subscription);
  }

  async create(body: SubscriptionCreate): Promise<StoredSubscription> {
    const { kind } = parseResource(body.resource);
    const changeType = parseChangeTypes(body.changeType);
    const expirationDateTime = this.checkExpiration(body.expirationDateTime);
    if (body.includeResourceData) {
      throw invalid(`Resource data (includeResourceData) is not supported for resource '${body.resource}'.`);
    }
    const notificationUrl = checkUrl(body.notificationUrl, 'notificationUrl');
    const lifecycleNotificationUrl = body.lifecycleNotificationUrl ? checkUrl(body.lifecycleNotificationUrl, 'lifecycleNotificationUrl') : null;
    this.checkQuota(kind);
    await validateEndpoint(notificationUrl, this.options.validationTimeoutMs);
    if (lifecycleNotificationUrl !== null) await validateEndpoint(lifecycleNotificationUrl, this.options.validationTimeoutMs);
    // Checked again: other creations may have filled the quota during the handshake.
    this.checkQuota(kind);
    const subscription: StoredSubscription = {
      id: randomUUID(),
      resource: body.resource,
      applicationId: this.options.applicationId,
      changeType,
      clientState: body.clientState ?? null,
      notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl,
      expirationDateTime,
      creatorId: this.options.applicationId,
      includeResourceData: false,
      latestSupportedTlsVersion: body.latestSupportedTlsVersion ?? 'v1_2',
      encryptionCertificate: body.encryptionCertificate ?? null,
      encryptionCertificateId: body.encryptionCertificateId ?? null,
      notificationUrlAppId: body.notificationUrlAppId ?? null,
    };
    this.byId.set(subscription.id, subscription);
    this.onChange();
    return subscription;
  }

  /** `PATCH /subscriptions/{id}`: a new expiration (a renewal) and/or a new notification URL, validated as on create. */
  async update(id: string, patch: SubscriptionPatch): Promise<StoredSubscription> {
    this.get(id);
    const expirationDateTime = patch.expirationDateTime === undefined ? undefined : this.checkExpiration(patch.expirationDateTime);
    const notificationUrl = patch.notificationUrl === undefined ? undefined : checkUrl(patch.notificationUrl, 'notificationUrl');
    if (notificationUrl !== undefined) await validateEndpoint(notificationUrl, this.options.validationTimeoutMs);
    // Looked up again: the subscription may have been deleted during the handshake.
    const current = this.get(id);
    const updated = { ...current, ...(expirationDateTime && { expirationDateTime }), ...(notificationUrl && { notificationUrl }) };
    this.byId.set(id, updated);
    this.onChange();
    return updated;
  }

  delete(id: string): void {
    this.get(id);
    this.byId.delete(id);
    this.onChange();
  }

  /** The notifications a change of a user or group makes: one per live subscription that covers it. */
  notificationsFor(change: ObjectChange): Outgoing[] {
    const resource = `${resourcePathOf[change.kind]}/${change.id}`;
    return this.list().flatMap((subscription): Outgoing[] => {
      const target = parseResource(subscription.resource);
      if (target.kind !== change.kind || (target.id !== null && target.id.toLowerCase() !== change.id.toLowerCase())) return [];
      if (!subscription.changeType.split(',').includes(change.changeType)) return [];
      return [
        {
          url: subscription.notificationUrl,
          subscriptionId: subscription.id,
          key: `${subscription.id} ${change.changeType} ${resource}`,
          payload: {
            id: randomUUID(),
            subscriptionId: subscription.id,
            subscriptionExpirationDateTime: subscription.expirationDateTime,
            clientState: subscription.clientState,
            changeType: change.changeType,
            resource,
            tenantId: this.options.tenantId,
            resourceData: {
              '@odata.type': graphTypeOf[change.kind],
              '@odata.id': resource,
              id: change.id,
              organizationId: this.options.tenantId,
              sequenceNumber: change.sequence,
            },
          },
        },
      ];
    });
  }

  /** A `reauthorizationRequired` lifecycle notification for a subscription that has a lifecycle URL. */
  reauthorizationRequired(id: string): Outgoing {
    const subscription = this.get(id);
    if (subscription.lifecycleNotificationUrl === null) {
      throw invalid(`Subscription '${id}' has no lifecycleNotificationUrl.`);
    }
    return {
      url: subscription.lifecycleNotificationUrl,
      subscriptionId: id,
      key: `${id} reauthorizationRequired`,
      payload: {
        subscriptionId: id,
        subscriptionExpirationDateTime: subscription.expirationDateTime,
        tenantId: this.options.tenantId,
        clientState: subscription.clientState,
        lifecycleEvent: 'reauthorizationRequired',
      },
    };
  }

  private expired(subscription: StoredSubscription): boolean {
    return Date.parse(subscription.expirationDateTime) <= this.clock.now().getTime();
  }

  /** As Graph: a subscription not renewed in time is deleted. */
  private removeExpired(): void {
    let removed = false;
    for (const subscription of this.byId.values()) {
      if (this.expired(subscription)) removed = this.byId.delete(subscription.id);
    }
    if (removed) this.onChange();
  }

  private checkExpiration(value: string): string {
    const at = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(at)) {
      throw invalid(`Invalid value for 'expirationDateTime': '${value}' is not a date and time.`);
    }
    const now = this.clock.now().getTime();
    if (at <= now) throw invalid('Subscription expiration time must be in the future.');
    if (at > now + MAX_SUBSCRIPTION_MINUTES * 60_000) {
      throw invalid(`Subscription expiration can only be ${MAX_SUBSCRIPTION_MINUTES} minutes in the future.`);
    }
    return new Date(at).toISOString();
  }

  private checkQuota(kind: ObjectKind): void {
    const held = this.list().filter((subscription) => parseResource(subscription.resource).kind === kind).length;
    if (held >= MAX_SUBSCRIPTIONS_PER_RESOURCE) {
      throw new ServiceError(
        403,
        'ExtensionError',
        `Subscription quota exceeded: at most ${MAX_SUBSCRIPTIONS_PER_RESOURCE} subscriptions per application and tenant on resource type '${kind}s'.`,
      );
    }
  }
}

function invalid(message: string): BadRequestError {
  return new BadRequestError(message, 'InvalidRequest');
}

/** `/users`, `users`, `/users/{id}`, the same for groups; anything else is a 400, as Graph answers an unsupported resource. */
function parseResource(resource: string): { kind: ObjectKind; id: string | null } {
  const match = /^\/?(users|groups)(?:\/([^/?#\s]+))?$/i.exec(resource.trim());
  if (!match) throw invalid(`Resource '${resource}' is not supported for change notifications by this directory; use /users, /users/{id}, /groups or /groups/{id}.`);
  return { kind: match[1]!.toLowerCase() === 'users' ? 'user' : 'group', id: match[2] ?? null };
}

/** A comma list of `updated` and `deleted`; users and groups do not notify `created` (a creation is `updated`). */
function parseChangeTypes(value: string): string {
  const types = value.split(',').map((type) => type.trim());
  for (const type of types) {
    if (type === 'created') throw invalid("ChangeType 'created' is not supported for users and groups: a creation is notified as 'updated'. Supported values: updated, deleted.");
    if (type !== 'updated' && type !== 'deleted') throw invalid(`'${type}' is not a valid changeType. Supported values: updated, deleted.`);
  }
  return types.join(',');
}

/** An absolute http(s) URL (Graph asks for https; the local directory also takes http, for loopback listeners). */
function checkUrl(value: string, property: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`Invalid value for '${property}': '${value}' is not an absolute URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid(`Invalid value for '${property}': the URL must use https.`);
  return value;
}

/**
 * Graph's validation handshake: `POST {url}?validationToken={token}` (text/plain); the endpoint must answer 200,
 * text/plain, with the decoded token, within the timeout. The token has spaces and colons, as Graph's does, so an
 * endpoint that echoes it still encoded fails.
 */
async function validateEndpoint(url: string, timeoutMs: number): Promise<void> {
  const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
  const target = new URL(url);
  target.searchParams.append('validationToken', token);
  let status: number;
  let contentType: string;
  let text: string;
  try {
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    contentType = response.headers.get('content-type') ?? '';
    text = await response.text();
  } catch {
    status = 0;
    contentType = '';
    text = '';
  }
  if (status !== 200) {
    throw invalid('Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.');
  }
  if (!contentType.toLowerCase().startsWith('text/plain') || text !== token) {
    throw invalid('Subscription validation request failed. Response must exactly match validationToken query parameter.');
  }
}
