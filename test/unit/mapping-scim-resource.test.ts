import fc from 'fast-check';
import { scimPatch, type ScimPatchOperation as LibraryPatchOperation, type ScimResource } from 'scim-patch';
import { describe, expect, it } from 'vitest';
import type { MappedObject } from '../../functions/domain/mapping/attribute-mapping.ts';
import { fingerprint, fromScimResource, patchOperations, quoteFilterValue, toScimResource } from '../../functions/domain/mapping/scim-resource.ts';

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

describe('fromScimResource', () => {
  const keys = [
    'userName',
    'displayName',
    'active',
    'externalId',
    'name.givenName',
    'name.familyName',
    'emails[type eq "work"].value',
    'emails[type eq "home"].value',
    'phoneNumbers[type eq "work"].value',
    'phoneNumbers[type eq "mobile"].value',
    'addresses[type eq "work"].locality',
    'addresses[type eq "work"].postalCode',
    'roles',
    `${ENTERPRISE}:department`,
    `${ENTERPRISE}:employeeNumber`,
    `${ENTERPRISE}:manager`,
  ];

  /** A user as a target returns it: meta, ids, a formatted name, entries and a manager reference. */
  const held = {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
    id: 't-1',
    externalId: 'obj-1',
    meta: { resourceType: 'User', location: 'https://target.example/scim/v2/Users/t-1' },
    userName: 'adele@contoso.com',
    active: true,
    displayName: null,
    name: { givenName: 'Adele', familyName: 'Vance', formatted: 'Adele Vance' },
    emails: [
      { value: 'adele@contoso.com', type: 'work', primary: true },
      { value: 'adele@home.example', type: 'other' },
    ],
    phoneNumbers: [{ value: '+1 555', type: 'mobile' }],
    addresses: [{ type: 'work', locality: 'Bellevue', formatted: '1 Main St, Bellevue', primary: true }],
    roles: [{ value: 'Reader' }, { value: 'Writer' }],
    [ENTERPRISE]: { department: 'Retail', manager: { value: 't-9', $ref: '../Users/t-9', displayName: 'Miriam' } },
  };

  it('reads the values a target holds at the mapped keys, leaving out what it does not hold', () => {
    expect(fromScimResource(held, keys)).toEqual({
      userName: 'adele@contoso.com',
      active: true,
      externalId: 'obj-1',
      'name.givenName': 'Adele',
      'name.familyName': 'Vance',
      'emails[type eq "work"].value': 'adele@contoso.com',
      'phoneNumbers[type eq "mobile"].value': '+1 555',
      'addresses[type eq "work"].locality': 'Bellevue',
      roles: ['Reader', 'Writer'],
      [`${ENTERPRISE}:department`]: 'Retail',
      [`${ENTERPRISE}:manager`]: 't-9',
    });
  });

  it('reads attribute names and type values case-insensitively, and core schema URN keys at the top level', () => {
    const shouting = { UserName: 'a@b.example', Emails: [{ Type: 'Work', Value: 'a@b.example' }], [ENTERPRISE.toUpperCase()]: { Department: 'Ops' } };
    expect(
      fromScimResource(shouting, ['userName', 'emails[type eq "work"].value', `${ENTERPRISE}:department`, 'urn:ietf:params:scim:schemas:core:2.0:User:userName']),
    ).toEqual({
      userName: 'a@b.example',
      'emails[type eq "work"].value': 'a@b.example',
      [`${ENTERPRISE}:department`]: 'Ops',
      'urn:ietf:params:scim:schemas:core:2.0:User:userName': 'a@b.example',
    });
  });

  it('marks a typed entry that holds none of the mapped sub-attributes, so adoption fills it instead of adding one', () => {
    const resource = { userName: 'a', addresses: [{ type: 'work', formatted: '1 Main St' }] };
    const previous = fromScimResource(resource, ['userName', 'addresses[type eq "work"].locality']);
    expect(previous).toEqual({ userName: 'a', 'addresses[type eq "work"].type': 'work' });
    expect(patchOperations(previous, { userName: 'a', 'addresses[type eq "work"].locality': 'Bellevue' })).toEqual([
      { op: 'replace', path: 'addresses[type eq "work"].locality', value: 'Bellevue' },
    ]);
    // Nothing of the entry is mapped any more: the entry goes, as it would for one the engine wrote itself.
    expect(patchOperations(previous, { userName: 'a' })).toEqual([{ op: 'remove', path: 'addresses[type eq "work"]' }]);
  });

  it('adopts without appending: the entries of an existing account are replaced, not added again', () => {
    const mapped: MappedObject = {
      userName: 'adele@contoso.com',
      active: 'True',
      'emails[type eq "work"].value': 'AdeleV@contoso.com',
      'phoneNumbers[type eq "mobile"].value': '+1 555',
    };
    const operations = patchOperations(fromScimResource(held, Object.keys(mapped)), mapped);
    expect(operations).toEqual([
      { op: 'replace', path: 'active', value: 'True' },
      { op: 'replace', path: 'emails[type eq "work"].value', value: 'AdeleV@contoso.com' },
    ]);
    // Blind, the same adoption would append every entry again.
    expect(patchOperations({}, mapped).filter((operation) => operation.op === 'add').map((operation) => operation.path)).toEqual(['emails', 'phoneNumbers']);
  });

  const text = fc.string({ minLength: 1, maxLength: 6 });
  const mappedUser = fc
    .record(
      Object.fromEntries(
        keys.map((key) => [
          key,
          key === 'active' ? fc.oneof(fc.boolean(), fc.constantFrom('True', 'False')) : key === 'roles' ? fc.array(text, { minLength: 1, maxLength: 3 }) : text,
        ]),
      ),
      { requiredKeys: [] },
    )
    .map((record) => ({ userName: 'fixed', ...record }) as MappedObject);

  /** What a target holds after the adapter sent `resource`: a boolean `active`, references and roles as objects. */
  const asTargetHolds = (resource: Record<string, unknown>): Record<string, unknown> => {
    const stored = structuredClone(resource);
    if (typeof stored.active === 'string') stored.active = stored.active === 'True';
    const enterprise = stored[ENTERPRISE] as Record<string, unknown> | undefined;
    if (typeof enterprise?.manager === 'string') enterprise.manager = { value: enterprise.manager, $ref: `../Users/${enterprise.manager}` };
    if (Array.isArray(stored.roles)) stored.roles = stored.roles.map((value) => ({ value }));
    return { ...stored, id: 't-1', meta: { resourceType: 'User' } };
  };
  /** Equal up to the form of `active`, which the adapter turns from Entra's "True"/"False" into a boolean. */
  const normalised = (mapped: MappedObject): MappedObject =>
    typeof mapped.active === 'string' ? { ...mapped, active: mapped.active === 'True' } : mapped;

  it('reads back what toScimResource wrote and the target stored, at its own keys or at all mapped keys', () => {
    fc.assert(
      fc.property(mappedUser, (mapped) => {
        const stored = asTargetHolds(toScimResource('Users', mapped));
        expect(fromScimResource(stored, Object.keys(mapped))).toEqual(normalised(mapped));
        expect(fromScimResource(stored, keys)).toEqual(normalised(mapped));
      }),
      { numRuns: 300 },
    );
  });

  /** A target's own additions: an entry of a type nothing maps, sub-attributes nothing maps, an address of its own. */
  const targetExtras = fc.record({ otherEmail: fc.boolean(), display: fc.boolean(), formattedAddress: fc.boolean() });
  const withExtras = (resource: Record<string, unknown>, extras: { otherEmail: boolean; display: boolean; formattedAddress: boolean }) => {
    const stored = structuredClone(resource);
    const emails = (stored.emails ??= []) as Record<string, unknown>[];
    if (extras.otherEmail) emails.push({ type: 'other', value: 'own@target.example' });
    if (extras.display) for (const email of emails) email.display = 'Shown';
    if (extras.formattedAddress && !Array.isArray(stored.addresses)) stored.addresses = [{ type: 'work', formatted: '1 Main St' }];
    if (emails.length === 0) delete stored.emails;
    return stored;
  };
  const typesOf = (resource: Record<string, unknown>, attribute: string) =>
    ((resource[attribute] ?? []) as Record<string, unknown>[]).map((entry) => String(entry.type).toLowerCase());

  it('adopts an existing account into the mapped state with no typed entry twice (RFC 7644 PATCH by scim-patch)', () => {
    fc.assert(
      fc.property(mappedUser, mappedUser, targetExtras, fc.boolean(), (existing, mapped, extras, allKeys) => {
        const stored = withExtras(asTargetHolds(toScimResource('Users', existing)), extras);
        const mappedKeys = allKeys ? keys : Object.keys(mapped);
        const operations = patchOperations(fromScimResource(stored, mappedKeys), mapped);
        const adopted = scimPatch(structuredClone(stored) as unknown as ScimResource, operations as LibraryPatchOperation[]) as unknown as Record<string, unknown>;
        for (const attribute of ['emails', 'phoneNumbers', 'addresses']) {
          const types = typesOf(adopted, attribute);
          expect(types).toEqual([...new Set(types)]);
        }
        // scim-patch applies `active` as sent; the adapter would have sent it as a boolean.
        expect(normalised(fromScimResource(adopted, Object.keys(mapped)))).toEqual(normalised(mapped));
        if (extras.otherEmail) expect(typesOf(adopted, 'emails')).toContain('other');
      }),
      { numRuns: 500 },
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
