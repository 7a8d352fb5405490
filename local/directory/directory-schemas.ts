import { z } from 'zod';
import { storedSubscriptionSchema } from './subscription-schemas.ts';

/** Graph user and group bodies, the local directory's stored state and its delta tokens. */

const text = z.string().nullable();
const textList = z.array(z.string());

/** Writable Graph user properties (names as Graph spells them). */
export const userPropertiesSchema = z.strictObject({
  userPrincipalName: z.string().min(3).regex(/^[^@\s]+@[^@\s]+$/, 'userPrincipalName must look like name@domain'),
  displayName: z.string().min(1),
  accountEnabled: z.boolean(),
  givenName: text,
  surname: text,
  mail: text,
  mailNickname: z.string().min(1),
  otherMails: textList,
  proxyAddresses: textList,
  jobTitle: text,
  department: text,
  companyName: text,
  employeeId: text,
  employeeType: text,
  employeeHireDate: text,
  businessPhones: textList,
  mobilePhone: text,
  faxNumber: text,
  officeLocation: text,
  streetAddress: text,
  postalCode: text,
  city: text,
  state: text,
  country: text,
  usageLocation: text,
  preferredLanguage: text,
  userType: text,
  onPremisesImmutableId: text,
});

/** Accepted on create for compatibility with Graph clients; never stored or returned. */
const passwordProfileSchema = z.object({
  password: z.string().optional(),
  forceChangePasswordNextSignIn: z.boolean().optional(),
  forceChangePasswordNextSignInWithMfa: z.boolean().optional(),
});

export const userCreateSchema = userPropertiesSchema
  .partial()
  .required({ userPrincipalName: true, displayName: true })
  .extend({ passwordProfile: passwordProfileSchema.optional() });

export const userPatchSchema = userPropertiesSchema.partial().extend({ passwordProfile: passwordProfileSchema.optional() });

/** Writable Graph group properties. */
export const groupPropertiesSchema = z.strictObject({
  displayName: z.string().min(1),
  description: text,
  mailNickname: z.string().min(1),
  mailEnabled: z.boolean(),
  securityEnabled: z.boolean(),
  groupTypes: textList,
  mail: text,
  visibility: text,
});

export const groupCreateSchema = groupPropertiesSchema.partial().required({ displayName: true });
/** A group PATCH may also add members: `members@odata.bind`, at most 20 references per request (as Graph). */
export const groupPatchSchema = groupPropertiesSchema.partial().extend({ 'members@odata.bind': z.array(z.string().min(1)).min(1).max(20).optional() });

/** Body of `POST /groups/{id}/members/$ref` and `PUT /users/{id}/manager/$ref`. */
export const memberRefSchema = z.object({ '@odata.id': z.string().min(1) });

const guid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a GUID');

/** Body of `POST /servicePrincipals` (the application itself is not modelled: any appId is accepted). */
export const servicePrincipalCreateSchema = z.strictObject({
  appId: guid,
  displayName: z.string().min(1).optional(),
});

/** Body of `POST /servicePrincipals/{id}/appRoleAssignedTo`. */
export const appRoleAssignmentCreateSchema = z.strictObject({
  principalId: guid,
  resourceId: guid,
  appRoleId: guid.optional(),
});

/** The default app role: "User" access without a specific role, what an assignment without roles gets. */
export const DEFAULT_APP_ROLE_ID = '00000000-0000-0000-0000-000000000000';

export const principalTypeSchema = z.enum(['User', 'Group', 'ServicePrincipal']);

export const storedAssignmentSchema = z.object({
  id: z.string(),
  appRoleId: z.string(),
  createdDateTime: z.string(),
  principalId: z.string(),
  principalType: principalTypeSchema,
});

export const storedServicePrincipalSchema = z.object({
  id: z.string(),
  appId: z.string(),
  displayName: z.string(),
  createdDateTime: z.string(),
  /** `appRoleAssignedTo`: who is assigned to the application, oldest first. */
  assignments: z.array(storedAssignmentSchema),
});

export const objectKindSchema = z.enum(['user', 'group']);
export const objectStateSchema = z.enum(['active', 'softDeleted', 'hardDeleted']);

/** One membership edge of a group; `present: false` is kept as a tombstone so delta can report the removal. */
export const memberEntrySchema = z.object({
  id: z.string(),
  kind: objectKindSchema,
  seq: z.number().int(),
  present: z.boolean(),
});

export const storedObjectSchema = z.object({
  kind: objectKindSchema,
  id: z.string(),
  state: objectStateSchema,
  /** Sequence number of the object's latest change. */
  seq: z.number().int(),
  /**
   * Sequence at which the object was created or last restored: a delta round from before it carries the object
   * whole. Absent in files written before properties were tracked (read as 0).
   */
  appearedSeq: z.number().int().optional(),
  properties: z.record(z.string(), z.unknown()),
  /**
   * Per property, the sequence of its last change, so a delta round reports only what changed since its start.
   * Absent in files written before properties were tracked (read as: every property changed at `seq`).
   */
  changed: z.record(z.string(), z.number().int()).optional(),
  members: z.array(memberEntrySchema).optional(),
  /** Groups a soft-deleted user belonged to, re-joined on restore. */
  restoreGroups: z.array(z.string()).optional(),
  /**
   * A user's manager; `present: false` is kept as a tombstone so delta can report the removal. Its last change
   * is `changed.manager`.
   */
  manager: z.object({ id: z.string(), present: z.boolean() }).optional(),
});

/** `[seq, id, supersededBy?, supersededAtMs?]`: the change log that delta rounds walk. */
export const logEntryTupleSchema = z.union([
  z.tuple([z.number().int(), z.string()]),
  z.tuple([z.number().int(), z.string(), z.number().int(), z.number()]),
]);

export const persistedDirectorySchema = z.object({
  /** 1: without per-property change sequences (still read); 2: with them. */
  version: z.union([z.literal(1), z.literal(2)]),
  sequence: z.number().int(),
  tokenEpoch: z.number().int(),
  objects: z.array(storedObjectSchema),
  log: z.object({ user: z.array(logEntryTupleSchema), group: z.array(logEntryTupleSchema) }),
  /** Absent in files written before service principals were modelled. */
  servicePrincipals: z.array(storedServicePrincipalSchema).optional(),
  /** Change-notification subscriptions; absent in files written before they were served. */
  subscriptions: z.array(storedSubscriptionSchema).optional(),
});

const tokenBase = {
  kind: objectKindSchema,
  /** Changes after this sequence are reported; 0 = full read. */
  since: z.number().int().min(0),
  select: z.array(z.string()).nullable(),
  /** Issue time (ms) of the round's position, for the retention window. */
  issuedAt: z.number(),
  epoch: z.number().int(),
};

/** State carried in `$deltatoken`: where the next round starts. */
export const deltaTokenSchema = z.object({ ...tokenBase, phase: z.literal('delta') });

/** State carried in `$skiptoken`: a position inside a round that reports changes in (since, upTo]. */
export const skipTokenSchema = z.object({
  ...tokenBase,
  phase: z.literal('skip'),
  upTo: z.number().int(),
  /** Log sequence of the last object started on earlier pages. */
  after: z.number().int(),
  /** A group whose members were split: continue it after this member sequence. */
  partial: z.object({ id: z.string(), afterMember: z.number().int() }).optional(),
});

export type ObjectKind = z.infer<typeof objectKindSchema>;
export type ObjectState = z.infer<typeof objectStateSchema>;
export type MemberEntry = z.infer<typeof memberEntrySchema>;
export type StoredObject = z.infer<typeof storedObjectSchema>;
export type PersistedDirectory = z.infer<typeof persistedDirectorySchema>;
export type DeltaToken = z.infer<typeof deltaTokenSchema>;
export type SkipToken = z.infer<typeof skipTokenSchema>;
export type UserCreate = z.infer<typeof userCreateSchema>;
export type UserPatch = z.infer<typeof userPatchSchema>;
export type GroupCreate = z.infer<typeof groupCreateSchema>;
export type GroupPatch = z.infer<typeof groupPatchSchema>;
export type ServicePrincipalCreate = z.infer<typeof servicePrincipalCreateSchema>;
export type AppRoleAssignmentCreate = z.infer<typeof appRoleAssignmentCreateSchema>;
export type StoredServicePrincipal = z.infer<typeof storedServicePrincipalSchema>;
export type StoredAssignment = z.infer<typeof storedAssignmentSchema>;
export type PrincipalType = z.infer<typeof principalTypeSchema>;

/**
 * Property names a `$select` may name, per kind (`members` only on groups' delta, `manager` only on users' delta:
 * elsewhere a relationship is read with `$expand` or its own path).
 */
export const selectableProperties: Record<ObjectKind, ReadonlySet<string>> = {
  user: new Set(['id', 'createdDateTime', 'deletedDateTime', 'manager', ...Object.keys(userPropertiesSchema.shape)]),
  group: new Set(['id', 'createdDateTime', 'deletedDateTime', ...Object.keys(groupPropertiesSchema.shape)]),
};

/** Graph's default property sets when a request has no `$select`. */
export const defaultSelect: Record<ObjectKind, readonly string[]> = {
  user: [
    'businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation',
    'preferredLanguage', 'surname', 'userPrincipalName', 'id',
  ],
  group: [
    'id', 'createdDateTime', 'deletedDateTime', 'description', 'displayName', 'groupTypes', 'mail', 'mailEnabled',
    'mailNickname', 'securityEnabled', 'visibility',
  ],
};
