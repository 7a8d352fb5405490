import type { SubscribedResource } from './change-subscriptions.ts';

/** One subscription the engine holds on a source directory. */
export interface HeldSubscription {
  resource: SubscribedResource;
  id: string;
  expirationDateTime: string;
  /** SHA-256 of its clientState: the secret itself is only ever sent to Graph, at creation. */
  clientStateHash: string;
}

/** The subscriptions of one source directory of a tenant, and the jobs their notifications wake. */
export interface SourceNotifications {
  tenantId: string;
  sourceKey: string;
  subscriptions: HeldSubscription[];
  /** `<servicePrincipalId>/<jobId>` of each job reading this source. */
  jobs: string[];
}

/** Where a notification's subscription belongs, read by the webhook from the subscription id alone. */
export interface SubscriptionOwner {
  tenantId: string;
  sourceKey: string;
  clientStateHash: string;
}

export interface NotificationStore {
  source(tenantId: string, sourceKey: string): Promise<SourceNotifications | null>;
  /** Replaces the source's subscriptions (their owners too: owners of subscriptions no longer held are removed). */
  saveSubscriptions(tenantId: string, sourceKey: string, subscriptions: HeldSubscription[], previous: HeldSubscription[]): Promise<void>;
  addJob(tenantId: string, sourceKey: string, job: string): Promise<void>;
  removeJob(tenantId: string, sourceKey: string, job: string): Promise<void>;
  /** The owners of these subscription ids (unknown ids are left out). */
  owners(subscriptionIds: string[]): Promise<Map<string, SubscriptionOwner>>;
}
