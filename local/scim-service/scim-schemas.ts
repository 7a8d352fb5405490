import { z } from 'zod';

export const userSchemaUrn = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const enterpriseUserSchemaUrn = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const groupSchemaUrn = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const listResponseSchemaUrn = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const patchOpSchemaUrn = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** One attribute definition as the `/Schemas` endpoint publishes it (RFC 7643 §7). */
export interface AttributeDefinition {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'reference' | 'dateTime';
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  subAttributes?: AttributeDefinition[];
  referenceTypes?: string[];
}

function attribute(
  name: string,
  description: string,
  overrides: Partial<Omit<AttributeDefinition, 'name' | 'description'>> = {},
): AttributeDefinition {
  return {
    name,
    type: 'string',
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...overrides,
  };
}

function multiValued(name: string, description: string, subAttributes: AttributeDefinition[]): AttributeDefinition {
  return attribute(name, description, { type: 'complex', multiValued: true, subAttributes });
}

const typedValue = (kind: string): AttributeDefinition[] => [
  attribute('value', `The ${kind} value.`),
  attribute('display', 'A human-readable name, primarily used for display purposes.'),
  attribute('type', `A label indicating the ${kind}'s function, e.g. 'work' or 'home'.`),
  attribute('primary', 'Whether this is the primary value.', { type: 'boolean' }),
];

const userAttributes: AttributeDefinition[] = [
  attribute('userName', 'Unique identifier for the User, case-insensitive.', { required: true, uniqueness: 'server' }),
  attribute('name', "The components of the user's name.", {
    type: 'complex',
    subAttributes: [
      attribute('formatted', 'The full name.'),
      attribute('familyName', 'The family name.'),
      attribute('givenName', 'The given name.'),
      attribute('middleName', 'The middle name.'),
      attribute('honorificPrefix', 'The honorific prefix.'),
      attribute('honorificSuffix', 'The honorific suffix.'),
    ],
  }),
  attribute('displayName', 'The name of the User, suitable for display.'),
  attribute('nickName', 'The casual way to address the user.'),
  attribute('profileUrl', "A URI of the user's online profile.", { type: 'reference', referenceTypes: ['external'] }),
  attribute('title', "The user's title, such as 'Vice President'."),
  attribute('userType', 'The relationship between the organization and the user.'),
  attribute('preferredLanguage', "The user's preferred written or spoken language."),
  attribute('locale', "The user's default location."),
  attribute('timezone', "The user's time zone."),
  attribute('active', "The user's administrative status.", { type: 'boolean' }),
  attribute('password', "The user's cleartext password; never returned.", { mutability: 'writeOnly', returned: 'never' }),
  multiValued('emails', 'Email addresses for the user.', typedValue('email address')),
  multiValued('phoneNumbers', 'Phone numbers for the user.', typedValue('phone number')),
  multiValued('ims', 'Instant messaging addresses for the user.', typedValue('instant messaging address')),
  multiValued('photos', 'URLs of photos of the user.', typedValue('photo URL')),
  multiValued('addresses', 'Physical mailing addresses for this user.', [
    attribute('formatted', 'The full mailing address.'),
    attribute('streetAddress', 'The full street address.'),
    attribute('locality', 'The city or locality.'),
    attribute('region', 'The state or region.'),
    attribute('postalCode', 'The zip code or postal code.'),
    attribute('country', 'The country name.'),
    attribute('type', "A label indicating the address's function."),
    attribute('primary', 'Whether this is the primary address.', { type: 'boolean' }),
  ]),
  attribute('groups', 'Groups the user belongs to; managed through the Group resource.', {
    type: 'complex',
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      attribute('value', 'The id of the group.', { mutability: 'readOnly' }),
      attribute('$ref', 'The URI of the group.', { type: 'reference', referenceTypes: ['Group'], mutability: 'readOnly', caseExact: true }),
      attribute('display', 'The display name of the group.', { mutability: 'readOnly' }),
      attribute('type', "The membership, 'direct' or 'indirect'.", { mutability: 'readOnly' }),
    ],
  }),
  multiValued('entitlements', 'Entitlements of the user.', typedValue('entitlement')),
  multiValued('roles', 'Roles of the user.', typedValue('role')),
  multiValued('x509Certificates', 'X.509 certificates issued to the user.', typedValue('certificate')),
];

const enterpriseUserAttributes: AttributeDefinition[] = [
  attribute('employeeNumber', 'A string identifier, typically numeric or alphanumeric, assigned to a person.'),
  attribute('costCenter', 'The name of a cost center.'),
  attribute('organization', 'The name of an organization.'),
  attribute('division', 'The name of a division.'),
  attribute('department', 'The name of a department.'),
  attribute('manager', "The user's manager.", {
    type: 'complex',
    subAttributes: [
      attribute('value', 'The id of the manager.'),
      attribute('$ref', 'The URI of the manager.', { type: 'reference', referenceTypes: ['User'], caseExact: true }),
      attribute('displayName', 'The display name of the manager.', { mutability: 'readOnly' }),
    ],
  }),
];

const groupAttributes: AttributeDefinition[] = [
  attribute('displayName', 'A human-readable name for the Group, unique in this service.', {
    required: true,
    uniqueness: 'server',
  }),
  attribute('members', 'A list of members of the Group.', {
    type: 'complex',
    multiValued: true,
    subAttributes: [
      attribute('value', 'The id of the member.', { mutability: 'immutable' }),
      attribute('$ref', 'The URI of the member.', { type: 'reference', referenceTypes: ['User', 'Group'], mutability: 'immutable', caseExact: true }),
      attribute('display', 'The display name of the member.', { mutability: 'readOnly' }),
      attribute('type', "The type of the member, 'User' or 'Group'.", { mutability: 'immutable' }),
    ],
  }),
];

/** The two resource types this service provider serves, with what the store needs to know about each. */
export const resourceTypes = {
  Users: {
    name: 'User',
    endpoint: 'Users',
    schema: userSchemaUrn,
    extensions: [enterpriseUserSchemaUrn],
    attributes: userAttributes,
    /** Unique per RFC 7643 and compared case-insensitively (caseExact=false). */
    uniqueAttribute: 'userName',
  },
  Groups: {
    name: 'Group',
    endpoint: 'Groups',
    schema: groupSchemaUrn,
    extensions: [],
    attributes: groupAttributes,
    uniqueAttribute: 'displayName',
  },
} as const;

export type ResourceEndpoint = keyof typeof resourceTypes;
export type ResourceTypeDefinition = (typeof resourceTypes)[ResourceEndpoint];

const schemaDocuments = [
  { id: userSchemaUrn, name: 'User', description: 'User Account', attributes: userAttributes },
  { id: enterpriseUserSchemaUrn, name: 'EnterpriseUser', description: 'Enterprise User', attributes: enterpriseUserAttributes },
  { id: groupSchemaUrn, name: 'Group', description: 'Group', attributes: groupAttributes },
];

/** `/Schemas` resources (RFC 7643 §7), with their `meta.location` under `baseUrl`. */
export function schemaResources(baseUrl: string): Record<string, unknown>[] {
  return schemaDocuments.map((document) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    ...document,
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${document.id}` },
  }));
}

/** `/ResourceTypes` resources (RFC 7643 §6). */
export function resourceTypeResources(baseUrl: string): Record<string, unknown>[] {
  return Object.values(resourceTypes).map((type) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: type.name,
    name: type.name,
    endpoint: `/${type.endpoint}`,
    description: `${type.name} resources`,
    schema: type.schema,
    schemaExtensions: type.extensions.map((schema) => ({ schema, required: false })),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${type.name}` },
  }));
}

/** `/ServiceProviderConfig` (RFC 7643 §5): what this service supports, so that clients need not guess. */
export function serviceProviderConfig(baseUrl: string, maxPageSize: number): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: 'https://datatracker.ietf.org/doc/html/rfc7644',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: maxPageSize },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'Authentication with a bearer token given when the service starts.',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

/** Attribute paths (lower case) whose values compare case-sensitively in filters (caseExact=true). */
export const caseExactAttributePaths: ReadonlySet<string> = new Set(['id', 'externalid', 'members.$ref', 'groups.$ref']);

/** Entra sends `"True"`/`"False"` strings for `active` by default; the RFC wants booleans. */
export const scimBoolean = z.union([
  z.boolean(),
  z
    .string()
    .regex(/^(true|false)$/i, 'expected a boolean')
    .transform((text) => text.toLowerCase() === 'true'),
]);

const memberSchema = z.looseObject({
  value: z.string().min(1),
  $ref: z.string().nullish(),
  display: z.string().optional(),
  type: z.string().optional(),
});

/** A User body for POST and PUT; attributes the schema does not name are kept as they are. */
export const userBodySchema = z.looseObject({
  schemas: z.array(z.string()).refine((list) => list.includes(userSchemaUrn), `schemas must include ${userSchemaUrn}`),
  userName: z.string().trim().min(1),
  externalId: z.string().optional(),
  active: scimBoolean.optional(),
});

/** A Group body for POST and PUT. */
export const groupBodySchema = z.looseObject({
  schemas: z.array(z.string()).refine((list) => list.includes(groupSchemaUrn), `schemas must include ${groupSchemaUrn}`),
  displayName: z.string().trim().min(1),
  externalId: z.string().optional(),
  members: z.array(memberSchema).optional(),
});

export type GroupMember = z.infer<typeof memberSchema>;

/** One operation of a PATCH; `op` is matched case-insensitively because Entra sends `Add`/`Replace`/`Remove`. */
const patchOperationSchema = z.object({
  op: z
    .string()
    .transform((op) => op.toLowerCase())
    .pipe(z.enum(['add', 'replace', 'remove'])),
  path: z.string().min(1).optional(),
  value: z.unknown().optional(),
});

/** A PATCH body. */
export const patchBodySchema = z.object({
  schemas: z.array(z.string()).refine((list) => list.includes(patchOpSchemaUrn), `schemas must include ${patchOpSchemaUrn}`),
  Operations: z.array(patchOperationSchema).min(1),
});

export type PatchOperation = z.infer<typeof patchOperationSchema>;

/** A resource as the store keeps it: `meta.location` is added when rendering, since the port may change. */
export const storedResourceSchema = z.looseObject({
  id: z.string().min(1),
  schemas: z.array(z.string()),
  meta: z.object({
    resourceType: z.string(),
    created: z.string(),
    lastModified: z.string(),
  }),
});

export type StoredResource = z.infer<typeof storedResourceSchema>;

/** The resources of the service, in creation order. */
export const persistedStateSchema = z.object({
  Users: z.array(storedResourceSchema),
  Groups: z.array(storedResourceSchema),
});

export type PersistedState = z.infer<typeof persistedStateSchema>;

/**
 * The data file: the state with every journal record up to `journalSequence` applied. A file written before the
 * journal existed has none applied.
 */
export const scimDataFileSchema = persistedStateSchema.extend({
  journalSequence: z.number().int().nonnegative().default(0),
});

const resourceEndpointSchema = z.enum(['Users', 'Groups']);

/**
 * One change of one resource: created or replaced (`put`, with the resource as stored), patched (the operations
 * and the time they were applied, so that adding 50 members to a group of 10,000 is not a copy of the group), or
 * deleted. Deleting a user also takes it out of every group's members; that follows from the delete and is not a
 * change of its own.
 */
export const resourceChangeSchema = z.discriminatedUnion('change', [
  z.object({ change: z.literal('put'), endpoint: resourceEndpointSchema, resource: storedResourceSchema }),
  z.object({
    change: z.literal('patch'),
    endpoint: resourceEndpointSchema,
    id: z.string().min(1),
    operations: z.array(patchOperationSchema).min(1),
    lastModified: z.string(),
  }),
  z.object({ change: z.literal('delete'), endpoint: resourceEndpointSchema, id: z.string().min(1) }),
]);

export type ResourceChange = z.infer<typeof resourceChangeSchema>;

/** One line of the journal: a change and its place in the sequence of all changes. */
export const journalRecordSchema = z.intersection(
  z.object({ sequence: z.number().int().positive() }),
  resourceChangeSchema,
);

/** List query parameters (RFC 7644 §3.4.2); paging numbers arrive as strings. */
export const listQuerySchema = z.object({
  filter: z.string().optional(),
  startIndex: z.coerce.number().int().optional(),
  count: z.coerce.number().int().optional(),
  attributes: z.string().optional(),
  excludedAttributes: z.string().optional(),
});

export type ListQuery = z.infer<typeof listQuerySchema>;
