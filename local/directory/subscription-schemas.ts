import { z } from 'zod';

/** Graph's change-notification subscriptions as the local directory serves them (users and groups only). */

const optionalText = z.string().nullable().optional();

export const tlsVersionSchema = z.enum(['v1_0', 'v1_1', 'v1_2', 'v1_3']);

/** Body of `POST /subscriptions` (Graph's writable subscription properties). */
export const subscriptionCreateSchema = z.strictObject({
  changeType: z.string(),
  notificationUrl: z.string(),
  lifecycleNotificationUrl: optionalText,
  resource: z.string(),
  expirationDateTime: z.string(),
  clientState: z.string().max(128, 'clientState can be at most 128 characters').nullable().optional(),
  latestSupportedTlsVersion: tlsVersionSchema.nullable().optional(),
  includeResourceData: z.boolean().nullable().optional(),
  encryptionCertificate: optionalText,
  encryptionCertificateId: optionalText,
  notificationUrlAppId: optionalText,
});

/** Body of `PATCH /subscriptions/{id}`: a renewal, or a move to another notification URL. */
export const subscriptionPatchSchema = z.strictObject({
  expirationDateTime: z.string().optional(),
  notificationUrl: z.string().optional(),
});

/** A subscription as kept and answered: Graph's whole property set, unset ones null. */
export const storedSubscriptionSchema = z.object({
  id: z.string(),
  resource: z.string(),
  applicationId: z.string(),
  changeType: z.string(),
  clientState: z.string().nullable(),
  notificationUrl: z.string(),
  notificationQueryOptions: z.null(),
  lifecycleNotificationUrl: z.string().nullable(),
  expirationDateTime: z.string(),
  creatorId: z.string(),
  includeResourceData: z.boolean(),
  latestSupportedTlsVersion: tlsVersionSchema,
  encryptionCertificate: z.string().nullable(),
  encryptionCertificateId: z.string().nullable(),
  notificationUrlAppId: z.string().nullable(),
});

export const notificationChangeTypeSchema = z.enum(['updated', 'deleted']);

/** One `changeNotification` of a `changeNotificationCollection`: a basic notification (ids only, no resource data). */
export const changeNotificationSchema = z.object({
  id: z.string(),
  subscriptionId: z.string(),
  subscriptionExpirationDateTime: z.string(),
  clientState: z.string().nullable(),
  changeType: notificationChangeTypeSchema,
  resource: z.string(),
  tenantId: z.string(),
  resourceData: z.object({
    '@odata.type': z.enum(['#Microsoft.Graph.User', '#Microsoft.Graph.Group']),
    '@odata.id': z.string(),
    id: z.string(),
    organizationId: z.string(),
    /** The directory's change sequence of the change: later changes have greater numbers. */
    sequenceNumber: z.number().int(),
  }),
});

/** A lifecycle notification, sent to `lifecycleNotificationUrl`. */
export const lifecycleNotificationSchema = z.object({
  subscriptionId: z.string(),
  subscriptionExpirationDateTime: z.string(),
  tenantId: z.string(),
  clientState: z.string().nullable(),
  lifecycleEvent: z.literal('reauthorizationRequired'),
});

export type SubscriptionCreate = z.infer<typeof subscriptionCreateSchema>;
export type SubscriptionPatch = z.infer<typeof subscriptionPatchSchema>;
export type StoredSubscription = z.infer<typeof storedSubscriptionSchema>;
export type NotificationChangeType = z.infer<typeof notificationChangeTypeSchema>;
export type ChangeNotification = z.infer<typeof changeNotificationSchema>;
export type LifecycleNotification = z.infer<typeof lifecycleNotificationSchema>;
