import * as z from 'zod/mini';

/** One item of Graph's `changeNotificationCollection` (basic notifications: ids only, no resource data). */
export const changeNotificationSchema = z.object({
  subscriptionId: z.string().check(z.minLength(1), z.maxLength(200)),
  clientState: z.nullish(z.string().check(z.maxLength(128))),
  changeType: z.optional(z.string().check(z.maxLength(100))),
  resource: z.optional(z.string().check(z.maxLength(1000))),
  tenantId: z.optional(z.string().check(z.maxLength(100))),
  lifecycleEvent: z.optional(z.string().check(z.maxLength(100))),
});

/** The body Graph POSTs to a notificationUrl (and to a lifecycleNotificationUrl). */
export const changeNotificationCollectionSchema = z.object({ value: z.array(changeNotificationSchema).check(z.minLength(1), z.maxLength(1000)) });

export type ChangeNotification = z.infer<typeof changeNotificationSchema>;

/** What Graph answers for a subscription (the fields the engine keeps). */
export const graphSubscriptionSchema = z.object({ id: z.string().check(z.minLength(1)), expirationDateTime: z.string().check(z.minLength(1)) });
