import { describe, expect, it } from 'vitest';
import {
  findObjectMapping,
  mapObject,
  matchingAttributes,
  membersMapping,
  selectedSourceAttributes,
} from '../../functions/domain/mapping/attribute-mapping.ts';
import { ExpressionError } from '../../functions/domain/mapping/expression-error.ts';
import { parseExpression } from '../../functions/domain/mapping/expression.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';
import {
  objectMappingSchema,
  parseFlowTypes,
  synchronizationSchemaSchema,
} from '../../functions/domain/mapping/schema.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** A user as Microsoft Graph returns it for the default $select. */
const graphUser = {
  id: '6e7b768e-07e2-4810-8459-485f84f8f204',
  userPrincipalName: 'adele.vance@contoso.com',
  displayName: 'Adele Vance',
  givenName: 'Adele',
  surname: 'Vance',
  jobTitle: 'Retail Manager',
  mail: 'AdeleV@contoso.com',
  mailNickname: 'AdeleV',
  accountEnabled: true,
  businessPhones: ['+1 425 555 0109', '+1 425 555 0110'],
  mobilePhone: null,
  officeLocation: '18/2111',
  streetAddress: '205 108th Ave NE',
  city: 'Bellevue',
  state: 'WA',
  postalCode: '98004',
  country: 'United States',
  department: 'Retail',
  employeeId: 'E1234',
  preferredLanguage: 'en-US',
};

const users = findObjectMapping(scimDefaultSchema, 'User');
const groups = findObjectMapping(scimDefaultSchema, 'Group');

describe('the default scim schema', () => {
  it('is a valid synchronizationSchema that survives a JSON round trip unchanged', () => {
    expect(synchronizationSchemaSchema.parse(JSON.parse(JSON.stringify(scimDefaultSchema)))).toEqual(scimDefaultSchema);
  });

  it.each([
    ['Azure Active Directory', 'User'],
    ['Azure Active Directory', 'Group'],
    ['customappsso', 'User'],
    ['customappsso', 'Group'],
  ])('%s %s has exactly one anchor attribute', (directoryName, objectName) => {
    const object = scimDefaultSchema.directories
      .find((directory) => directory.name === directoryName)
      ?.objects.find((candidate) => candidate.name === objectName);
    expect(object?.attributes.filter((attribute) => attribute.anchor)).toHaveLength(1);
  });

  it('maps every target attribute to an attribute the target object defines', () => {
    for (const resolved of [users, groups]) {
      const defined = new Set(resolved?.targetObject?.attributes.map((attribute) => attribute.name));
      const unknown = resolved?.objectMapping.attributeMappings.filter((mapping) => !defined.has(mapping.targetAttributeName));
      expect(unknown).toEqual([]);
    }
  });

  it('names the two object mappings as Entra does and provisions adds, updates and deletes', () => {
    expect(users?.objectMapping.name).toBe('Provision Azure Active Directory Users');
    expect(groups?.objectMapping.name).toBe('Provision Azure Active Directory Groups');
    expect([...parseFlowTypes(users?.objectMapping.flowTypes ?? '')]).toEqual(['Add', 'Update', 'Delete']);
  });

  it('matches users on userName, and groups on displayName, then on externalId (their object id)', () => {
    expect(matchingAttributes(users!.objectMapping).map((matching) => matching.targetAttributeName)).toEqual(['userName']);
    expect(matchingAttributes(groups!.objectMapping).map((matching) => matching.targetAttributeName)).toEqual(['displayName', 'externalId']);
  });

  it('selects the Graph properties the user mapping reads, under Graph names', () => {
    const selected = selectedSourceAttributes(users!.objectMapping);
    expect(selected).toEqual(expect.arrayContaining(['id', 'accountEnabled', 'businessPhones', 'mobilePhone', 'officeLocation', 'city']));
    expect(selected).not.toContain('IsSoftDeleted');
    expect(selected).not.toContain('telephoneNumber');
    expect(selected).not.toContain('mobile');
  });

  it('selects id, displayName and members for groups', () => {
    expect(selectedSourceAttributes(groups!.objectMapping)).toEqual(['displayName', 'id', 'members']);
    expect(membersMapping(groups!.objectMapping)?.targetAttributeName).toBe('members');
  });
});

describe('mapObject with the default user mapping', () => {
  const map = (attributes: Record<string, unknown>, mode?: 'add' | 'update') =>
    mapObject(users!.objectMapping, attributes, { targetObject: users!.targetObject, mode });

  it('maps a realistic Graph user to SCIM attribute paths', () => {
    expect(map(graphUser)).toEqual({
      userName: 'adele.vance@contoso.com',
      active: true,
      displayName: 'Adele Vance',
      title: 'Retail Manager',
      'emails[type eq "work"].value': 'AdeleV@contoso.com',
      preferredLanguage: 'en-US',
      externalId: 'AdeleV',
      'name.givenName': 'Adele',
      'name.familyName': 'Vance',
      'name.formatted': 'Adele Vance',
      'phoneNumbers[type eq "work"].value': '+1 425 555 0109',
      'addresses[type eq "work"].streetAddress': '205 108th Ave NE',
      'addresses[type eq "work"].locality': 'Bellevue',
      'addresses[type eq "work"].region': 'WA',
      'addresses[type eq "work"].postalCode': '98004',
      'addresses[type eq "work"].country': 'United States',
      'addresses[type eq "other"].formatted': '18/2111',
      [`${ENTERPRISE}:employeeNumber`]: 'E1234',
      [`${ENTERPRISE}:department`]: 'Retail',
    });
  });

  it.each<[string, Record<string, unknown>, boolean | undefined]>([
    ['enabled', { accountEnabled: true }, true],
    ['disabled', { accountEnabled: false }, false],
    ['soft-deleted', { accountEnabled: true, IsSoftDeleted: true }, false],
    ['soft-deleted and disabled', { accountEnabled: false, IsSoftDeleted: true }, false],
    ['restored', { accountEnabled: true, IsSoftDeleted: false }, true],
    ['enabled, as a string', { accountEnabled: 'True' }, true],
    ['of unknown state', { accountEnabled: undefined }, undefined],
  ])('sends a JSON boolean active for a %s account', (_, state, active) => {
    expect(map({ ...graphUser, ...state })['active']).toBe(active);
  });

  it('does not send attributes whose source is null', () => {
    const mapped = map({ id: 'u1', userPrincipalName: 'a@contoso.com', accountEnabled: true, mail: null, surname: null, givenName: 'A' });
    expect(mapped).toEqual({ userName: 'a@contoso.com', active: true, 'name.givenName': 'A', 'name.formatted': 'A' });
  });

  it('reads an Entra attribute name when the source already carries it', () => {
    expect(map({ userPrincipalName: 'a@b', telephoneNumber: '+33 1', businessPhones: ['+1 2'] })['phoneNumbers[type eq "work"].value']).toBe('+33 1');
  });

  it('maps mobilePhone to the mobile phone number', () => {
    expect(map({ ...graphUser, mobilePhone: '+1 555 0100' })['phoneNumbers[type eq "mobile"].value']).toBe('+1 555 0100');
  });
});

describe('mapObject with the default group mapping', () => {
  it('maps displayName and objectId and leaves membership to member operations', () => {
    const group = { id: 'g-1', displayName: 'Sales', members: [{ id: 'u1' }, { id: 'u2' }] };
    expect(mapObject(groups!.objectMapping, group, { targetObject: groups!.targetObject })).toEqual({
      displayName: 'Sales',
      externalId: 'g-1',
    });
  });
});

describe('mapObject with a custom mapping', () => {
  const custom = objectMappingSchema.parse({
    name: 'custom',
    sourceObjectName: 'User',
    targetObjectName: 'User',
    attributeMappings: [
      { targetAttributeName: 'userType', source: null, defaultValue: 'Employee' },
      { targetAttributeName: 'nickName', source: parseExpression('[missing]'), defaultValue: 'none' },
      { targetAttributeName: 'title', source: parseExpression('ToUpper([jobTitle])'), flowType: 'ObjectAddOnly' },
      { targetAttributeName: 'x:count', source: parseExpression('[n]') },
      { targetAttributeName: 'flag', source: parseExpression('[f]') },
      { targetAttributeName: 'roles', source: parseExpression('[r]') },
    ],
  });
  const targetObject = {
    name: 'User',
    attributes: [
      { name: 'x:count', type: 'Integer' as const },
      { name: 'flag', type: 'Boolean' as const },
      { name: 'roles', multivalued: true },
    ].map((attribute) => ({
      anchor: false,
      caseExact: false,
      defaultValue: null,
      flowNullValues: false,
      multivalued: false,
      mutability: 'ReadWrite' as const,
      required: false,
      apiExpressions: [],
      referencedObjects: [],
      metadata: [],
      type: 'String' as const,
      ...attribute,
    })),
    metadata: [],
    supportedApis: [],
  };

  it('uses defaultValue for a null or absent source and skips ObjectAddOnly on update', () => {
    expect(mapObject(custom, { jobTitle: 'dev' }, { mode: 'add' })).toEqual({ userType: 'Employee', nickName: 'none', title: 'DEV' });
    expect(mapObject(custom, { jobTitle: 'dev' }, { mode: 'update' })).toEqual({ userType: 'Employee', nickName: 'none' });
  });

  it('converts values to the target attribute types', () => {
    const mapped = mapObject(custom, { n: 7, f: 'false', r: 'admin' }, { targetObject });
    expect(mapped).toMatchObject({ 'x:count': 7, flag: false, roles: ['admin'] });
  });

  it('fails with an ExpressionError when a value cannot take the target type', () => {
    expect(() => mapObject(custom, { n: 'seven' }, { targetObject })).toThrow(ExpressionError);
  });
});

describe('the schema model', () => {
  it('fills Graph defaults into a sparse schema', () => {
    const parsed = synchronizationSchemaSchema.parse({
      id: 's',
      version: '1',
      synchronizationRules: [
        {
          id: 'r',
          name: 'r',
          sourceDirectoryName: 'a',
          targetDirectoryName: 'b',
          objectMappings: [
            {
              name: 'm',
              sourceObjectName: 'User',
              targetObjectName: 'User',
              attributeMappings: [{ targetAttributeName: 'x', source: { name: 'y' } }],
            },
          ],
        },
      ],
    });
    const objectMapping = parsed.synchronizationRules[0]?.objectMappings[0];
    expect(objectMapping).toMatchObject({ enabled: true, flowTypes: 'Add, Update, Delete', scope: null });
    expect(objectMapping?.attributeMappings[0]).toMatchObject({
      flowType: 'Always',
      flowBehavior: 'FlowWhenChanged',
      matchingPriority: 0,
      source: { type: 'Attribute', name: 'y', expression: null, parameters: [] },
    });
    expect(parsed.directories).toEqual([]);
  });

  it.each([
    ['Add, Update, Delete', ['Add', 'Update', 'Delete']],
    ['Add,Update', ['Add', 'Update']],
    ['None', []],
  ])('reads flowTypes %j', (flowTypes, flags) => {
    expect([...parseFlowTypes(flowTypes)]).toEqual(flags);
  });

  it('rejects an unknown flow type', () => {
    const result = objectMappingSchema.safeParse({ name: 'm', sourceObjectName: 'User', targetObjectName: 'User', flowTypes: 'Add, Upsert' });
    expect(result.success).toBe(false);
  });
});
