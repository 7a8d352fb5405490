/** The directory resources the engine subscribes to. */
export type SubscribedResource = 'users' | 'groups';

export interface SubscriptionRequest {
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  expirationDateTime: string;
}

/** Graph's `/subscriptions` of one source directory, with the source's own credentials. */
export interface ChangeSubscriptions {
  /** `POST /subscriptions` (changeType updated,deleted); Graph validates the notificationUrl before it answers. */
  create(resource: SubscribedResource, request: SubscriptionRequest): Promise<{ id: string; expirationDateTime: string }>;
  /** `PATCH /subscriptions/{id}`; false when Graph no longer has it (404). */
  renew(id: string, expirationDateTime: string): Promise<boolean>;
}
