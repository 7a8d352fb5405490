import { z } from 'zod';

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
export const groupPatchSchema = groupPropertiesSchema.partial();

/** Body of `POST /groups/{id}/members/$ref`. */
export const memberRefSchema = z.object({ '@odata.id': z.string().min(1) });

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

/** Property names a `$select` may name, per kind (`members` only on groups' delta). */
export const selectableProperties: Record<ObjectKind, ReadonlySet<string>> = {
  user: new Set(['id', 'createdDateTime', 'deletedDateTime', ...Object.keys(userPropertiesSchema.shape)]),
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
