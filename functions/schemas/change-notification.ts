import { z } from 'zod';

/** One item of Graph's `changeNotificationCollection` (basic notifications: ids only, no resource data). */
export const changeNotificationSchema = z.object({
  subscriptionId: z.string().min(1).max(200),
  clientState: z.string().max(128).nullish(),
  changeType: z.string().max(100).optional(),
  resource: z.string().max(1000).optional(),
  tenantId: z.string().max(100).optional(),
  lifecycleEvent: z.string().max(100).optional(),
});

/** The body Graph POSTs to a notificationUrl (and to a lifecycleNotificationUrl). */
export const changeNotificationCollectionSchema = z.object({ value: z.array(changeNotificationSchema).min(1).max(1000) });

export type ChangeNotification = z.infer<typeof changeNotificationSchema>;

/** What Graph answers for a subscription (the fields the engine keeps). */
export const graphSubscriptionSchema = z.object({ id: z.string().min(1), expirationDateTime: z.string().min(1) });
