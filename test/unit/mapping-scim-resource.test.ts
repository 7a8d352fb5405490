import fc from 'fast-check';
import { scimPatch, type ScimPatchOperation as LibraryPatchOperation, type ScimResource } from 'scim-patch';
import { describe, expect, it } from 'vitest';
import type { MappedObject } from '../../functions/domain/mapping/attribute-mapping.ts';
import { fingerprint, patchOperations, quoteFilterValue, toScimResource } from '../../functions/domain/mapping/scim-resource.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('toScimResource', () => {
  it('builds the nested SCIM user with the enterprise extension', () => {
    const resource = toScimResource('Users', {
      userName: 'adele@contoso.com',
      active: true,
      'emails[type eq "work"].value': 'AdeleV@contoso.com',
      'name.givenName': 'Adele',
      'name.familyName': 'Vance',
      'phoneNumbers[type eq "work"].value': '+1 425',
      'phoneNumbers[type eq "mobile"].value': '+1 555',
      'addresses[type eq "work"].locality': 'Bellevue',
      'addresses[type eq "work"].postalCode': '98004',
      [`${ENTERPRISE}:department`]: 'Retail',
    });
    expect(resource).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
      userName: 'adele@contoso.com',
      active: true,
      emails: [{ type: 'work', value: 'AdeleV@contoso.com', primary: true }],
      name: { givenName: 'Adele', familyName: 'Vance' },
      phoneNumbers: [
        { type: 'work', value: '+1 425', primary: true },
        { type: 'mobile', value: '+1 555' },
      ],
      addresses: [{ type: 'work', locality: 'Bellevue', postalCode: '98004', primary: true }],
      [ENTERPRISE]: { department: 'Retail' },
    });
  });

  it.each<[string, MappedObject, unknown]>([
    ['lists only the core schema without extension attributes', { userName: 'a' }, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'a' }],
    ['unescapes quotes in a filter value', { 'emails[type eq "a\\"b"].value': 'x' }, { emails: [{ type: 'a"b', value: 'x' }] }],
    ['keeps a path it cannot split as a plain attribute', { 'odd path': 'x' }, { 'odd path': 'x' }],
  ])('%s', (_, mapped, expected) => {
    expect(toScimResource('Users', mapped)).toMatchObject(expected as Record<string, unknown>);
  });

  it('builds a group with the core group schema', () => {
    expect(toScimResource('Groups', { displayName: 'Sales', externalId: 'g-1' })).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Sales',
      externalId: 'g-1',
    });
  });
});

describe('patchOperations', () => {
  const base: MappedObject = {
    userName: 'adele@contoso.com',
    active: true,
    'emails[type eq "work"].value': 'AdeleV@contoso.com',
    'name.givenName': 'Adele',
    'name.familyName': 'Vance',
    'addresses[type eq "work"].locality': 'Bellevue',
    'addresses[type eq "work"].postalCode': '98004',
    [`${ENTERPRISE}:department`]: 'Retail',
  };

  it.each<[string, MappedObject, unknown[]]>([
    ['nothing for an unchanged object', { ...base }, []],
    ['a boolean replace of active when the account is disabled', { ...base, active: false }, [{ op: 'replace', path: 'active', value: false }]],
    [
      'replaces on filtered and nested paths as the mapped keys spell them',
      { ...base, 'emails[type eq "work"].value': 'adele@fabrikam.com', 'name.familyName': 'Smith' },
      [
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'adele@fabrikam.com' },
        { op: 'replace', path: 'name.familyName', value: 'Smith' },
      ],
    ],
    ['replaces an enterprise attribute by its URN path', { ...base, [`${ENTERPRISE}:department`]: 'Sales' }, [
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Sales' },
    ]],
    ['removes a value that became null', (({ 'name.givenName': _, ...rest }) => rest)(base), [{ op: 'remove', path: 'name.givenName' }]],
    [
      'removes the whole entry when nothing of it is left',
      (({ 'emails[type eq "work"].value': _, ...rest }) => rest)(base),
      [{ op: 'remove', path: 'emails[type eq "work"]' }],
    ],
    [
      'removes one sub-attribute of an entry that keeps others',
      (({ 'addresses[type eq "work"].postalCode': _, ...rest }) => rest)(base),
      [{ op: 'remove', path: 'addresses[type eq "work"].postalCode' }],
    ],
    [
      'adds a new entry of a multi-valued attribute whole',
      { ...base, 'phoneNumbers[type eq "work"].value': '+1 425' },
      [{ op: 'add', path: 'phoneNumbers', value: [{ type: 'work', value: '+1 425', primary: true }] }],
    ],
    [
      'removes a complex attribute once all its sub-attributes are gone',
      (({ 'name.givenName': _g, 'name.familyName': _f, ...rest }) => rest)(base),
      [{ op: 'remove', path: 'name' }],
    ],
  ])('sends %s', (_, next, expected) => {
    expect(patchOperations(base, next)).toEqual(expected);
  });

  const keys = [
    'userName',
    'displayName',
    'active',
    'name.givenName',
    'name.familyName',
    'emails[type eq "work"].value',
    'phoneNumbers[type eq "work"].value',
    'phoneNumbers[type eq "mobile"].value',
    'addresses[type eq "work"].locality',
    'addresses[type eq "work"].postalCode',
    `${ENTERPRISE}:department`,
    `${ENTERPRISE}:employeeNumber`,
  ];
  const mappedObject = fc
    .record(Object.fromEntries(keys.map((key) => [key, key === 'active' ? fc.boolean() : fc.string({ minLength: 1, maxLength: 6 })])), {
      requiredKeys: [],
    })
    .map((record) => ({ userName: 'fixed', ...record }) as MappedObject);

  /**
   * Empty containers and `schemas` carry no data (a target that keeps `name: {}` after the last remove is fine),
   * and multi-valued attributes are unordered (RFC 7643 §2.4).
   */
  const normalise = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(normalise).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value)
      .filter(([key]) => key !== 'schemas')
      .map(([key, inner]) => [key, normalise(inner)] as const)
      .filter(([, inner]) => !(typeof inner === 'object' && inner !== null && Object.keys(inner).length === 0));
    return Object.fromEntries(entries);
  };

  it('turns the target copy of a into b once applied (RFC 7644 PATCH by scim-patch)', () => {
    fc.assert(
      fc.property(mappedObject, mappedObject, (a, b) => {
        const target = { ...toScimResource('Users', a), meta: { resourceType: 'User' } } as unknown as ScimResource;
        const patched = scimPatch(target, patchOperations(a, b) as LibraryPatchOperation[], { mutateDocument: false });
        const { meta: _, ...resource } = patched as unknown as Record<string, unknown>;
        expect(normalise(resource)).toEqual(normalise(toScimResource('Users', b)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('quoteFilterValue', () => {
  it.each([
    ['plain', '"plain"'],
    ['o"brien', '"o\\"brien"'],
    ['back\\slash', '"back\\\\slash"'],
  ])('quotes %s as a filter string literal', (value, quoted) => {
    expect(quoteFilterValue(value)).toBe(quoted);
  });

  it('reads back through the path grammar of the mapped keys', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }).filter((value) => !/[\u0000-\u001f]/.test(value)), (value) => {
        const resource = toScimResource('Users', { [`emails[type eq ${quoteFilterValue(value)}].value`]: 'x' });
        expect(resource.emails).toMatchObject([{ type: value, value: 'x' }]);
      }),
    );
  });
});

describe('fingerprint', () => {
  it('is the same for equal objects whatever their key order, and differs when a value changes', () => {
    const a: MappedObject = { userName: 'a', active: true, 'name.givenName': 'A' };
    const reordered: MappedObject = { 'name.givenName': 'A', active: true, userName: 'a' };
    expect(fingerprint(a)).toBe(fingerprint(reordered));
    expect(fingerprint({ ...a, active: false })).not.toBe(fingerprint(a));
    expect(JSON.parse(fingerprint(a))).toEqual(a);
  });
});
