import { parseExpressionSyntax } from './expression.ts';
import { SCIM_ENTERPRISE_USER_SCHEMA } from './scim-resource.ts';
import { type SynchronizationSchema, synchronizationSchemaSchema } from './schema.ts';

export const ENTRA_DIRECTORY_NAME = 'Azure Active Directory';
export const SCIM_DIRECTORY_NAME = 'customappsso';

type AttributeInput = { name: string } & Partial<{
  type: 'String' | 'Boolean' | 'Reference';
  anchor: boolean;
  required: boolean;
  multivalued: boolean;
  mutability: 'ReadWrite' | 'ReadOnly' | 'Immutable' | 'WriteOnly';
  referencedObjects: Array<{ referencedObjectName: string; referencedProperty: string | null }>;
}>;

const strings = (...names: string[]): AttributeInput[] => names.map((name) => ({ name }));

function mapping(targetAttributeName: string, expression: string, matchingPriority = 0) {
  return { targetAttributeName, source: parseExpressionSyntax(expression), matchingPriority };
}

const objectMappingMetadata = [
  { key: 'Disposition', value: 'Normal' },
  { key: 'EscrowBehavior', value: 'Default' },
];

const entraObjectMetadata = (accountEnabled: boolean) => [
  { key: 'IsSoftDeletionSupported', value: 'true' },
  { key: 'IsSynchronizeAllSupported', value: 'true' },
  { key: 'ConnectorDataStorageRequired', value: 'true' },
  ...(accountEnabled ? [{ key: 'PropertyNameAccountEnabled', value: 'accountEnabled' }] : []),
  { key: 'PropertyNameSoftDeleted', value: 'IsSoftDeleted' },
];

/** A group's members, users or groups, on both sides of the mapping. */
const membersAttribute: AttributeInput = {
  name: 'members',
  type: 'Reference',
  multivalued: true,
  referencedObjects: [
    { referencedObjectName: 'User', referencedProperty: null },
    { referencedObjectName: 'Group', referencedProperty: null },
  ],
};

const enterprise = (attribute: string) => `${SCIM_ENTERPRISE_USER_SCHEMA}:${attribute}`;

/**
 * The effective default schema of the non-gallery `scim` template: Entra ID users and groups (Entra's attribute
 * names; the mapping engine reads them from Graph's properties) to a SCIM 2.0 service's Users and Groups.
 * `active` is false for a soft-deleted or a disabled account. Users match on `userName`, groups on `displayName`.
 */
export const scimDefaultSchema: SynchronizationSchema = synchronizationSchemaSchema.parse({
  id: 'scim',
  version: '1',
  directories: [
    {
      id: '66e4a8cc-1b7b-435e-95f8-f06cea133828',
      name: ENTRA_DIRECTORY_NAME,
      readOnly: true,
      discoverabilities: 'AttributeNames, AttributeDataTypes, AttributeReadOnly, ReferenceAttributes',
      objects: [
        {
          name: 'User',
          metadata: entraObjectMetadata(true),
          attributes: [
            { name: 'objectId', anchor: true, required: true, mutability: 'ReadOnly' },
            { name: 'IsSoftDeleted', type: 'Boolean', required: true },
            { name: 'accountEnabled', type: 'Boolean' },
            ...strings('city', 'companyName', 'country', 'department', 'displayName', 'employeeId'),
            ...strings('facsimileTelephoneNumber', 'givenName', 'jobTitle', 'mail', 'mailNickname'),
            { name: 'manager', type: 'Reference', referencedObjects: [{ referencedObjectName: 'User', referencedProperty: null }] },
            ...strings('mobile', 'physicalDeliveryOfficeName', 'postalCode', 'preferredLanguage'),
            { name: 'proxyAddresses', multivalued: true },
            ...strings('state', 'streetAddress', 'surname', 'telephoneNumber', 'userPrincipalName', 'userType'),
          ],
        },
        {
          name: 'Group',
          metadata: entraObjectMetadata(false),
          attributes: [
            { name: 'objectId', anchor: true, required: true, mutability: 'ReadOnly' },
            { name: 'IsSoftDeleted', type: 'Boolean', required: true },
            ...strings('description', 'displayName', 'mail', 'mailNickname'),
            { name: 'mailEnabled', type: 'Boolean' },
            membersAttribute,
            { name: 'proxyAddresses', multivalued: true },
            { name: 'securityEnabled', type: 'Boolean' },
          ],
        },
      ],
    },
    {
      id: SCIM_DIRECTORY_NAME,
      name: SCIM_DIRECTORY_NAME,
      discoverabilities: 'None',
      objects: [
        {
          name: 'User',
          attributes: [
            { name: 'id', anchor: true, mutability: 'ReadOnly' },
            { name: 'userName', required: true },
            { name: 'active', type: 'Boolean' },
            ...strings('displayName', 'title', 'externalId', 'preferredLanguage'),
            ...strings('name.givenName', 'name.familyName', 'name.formatted'),
            ...strings('emails[type eq "work"].value', 'emails[type eq "other"].value'),
            ...strings('phoneNumbers[type eq "work"].value', 'phoneNumbers[type eq "mobile"].value'),
            ...strings('phoneNumbers[type eq "fax"].value'),
            ...strings('addresses[type eq "work"].streetAddress', 'addresses[type eq "work"].locality'),
            ...strings('addresses[type eq "work"].region', 'addresses[type eq "work"].postalCode'),
            ...strings('addresses[type eq "work"].country', 'addresses[type eq "other"].formatted'),
            ...strings(enterprise('employeeNumber'), enterprise('department'), enterprise('organization')),
            {
              name: enterprise('manager'),
              type: 'Reference',
              referencedObjects: [{ referencedObjectName: 'User', referencedProperty: null }],
            },
          ],
        },
        {
          name: 'Group',
          attributes: [
            { name: 'id', anchor: true, mutability: 'ReadOnly' },
            { name: 'displayName', required: true },
            { name: 'externalId' },
            membersAttribute,
          ],
        },
      ],
    },
  ],
  synchronizationRules: [
    {
      id: 'AAD2SCIM',
      name: 'USER_INBOUND_USER',
      editable: true,
      priority: 1,
      sourceDirectoryName: ENTRA_DIRECTORY_NAME,
      targetDirectoryName: SCIM_DIRECTORY_NAME,
      objectMappings: [
        {
          name: 'Provision Azure Active Directory Users',
          enabled: true,
          flowTypes: 'Add, Update, Delete',
          sourceObjectName: 'User',
          targetObjectName: 'User',
          metadata: objectMappingMetadata,
          attributeMappings: [
            mapping('userName', '[userPrincipalName]', 1),
            // Soft-deleted → False; otherwise the account's own enabled state.
            mapping('active', 'Switch(Not([IsSoftDeleted]), "False", "True", [accountEnabled])'),
            mapping('displayName', '[displayName]'),
            mapping('title', '[jobTitle]'),
            mapping('emails[type eq "work"].value', '[mail]'),
            mapping('preferredLanguage', '[preferredLanguage]'),
            mapping('externalId', '[mailNickname]'),
            mapping('name.givenName', '[givenName]'),
            mapping('name.familyName', '[surname]'),
            mapping('name.formatted', 'Join(" ", [givenName], [surname])'),
            mapping('phoneNumbers[type eq "work"].value', '[telephoneNumber]'),
            mapping('phoneNumbers[type eq "mobile"].value', '[mobile]'),
            mapping('addresses[type eq "work"].streetAddress', '[streetAddress]'),
            mapping('addresses[type eq "work"].locality', '[city]'),
            mapping('addresses[type eq "work"].region', '[state]'),
            mapping('addresses[type eq "work"].postalCode', '[postalCode]'),
            mapping('addresses[type eq "work"].country', '[country]'),
            mapping('addresses[type eq "other"].formatted', '[physicalDeliveryOfficeName]'),
            mapping(enterprise('employeeNumber'), '[employeeId]'),
            mapping(enterprise('department'), '[department]'),
            // A reference: sent as the manager's own account id in the target (`manager.value`), once it has one.
            mapping(enterprise('manager'), '[manager]'),
          ],
        },
        {
          name: 'Provision Azure Active Directory Groups',
          enabled: true,
          flowTypes: 'Add, Update, Delete',
          sourceObjectName: 'Group',
          targetObjectName: 'Group',
          metadata: objectMappingMetadata,
          attributeMappings: [
            mapping('displayName', '[displayName]', 1),
            // A group renamed while its link was lost (a restart Full, a run that died) is still found by its id.
            mapping('externalId', '[objectId]', 2),
            mapping('members', '[members]'),
          ],
        },
      ],
    },
  ],
});
