import { describe, expect, it } from 'vitest';
import {
  directoryDefinitionSchema,
  objectMappingSchema,
  synchronizationSchemaSchema,
  withStatedFlags,
  hasUnstatedFlags,
} from '../../functions/domain/mapping/schema.ts';
import { scimDefaultSchema } from '../../functions/domain/mapping/scim-default-schema.ts';

const mapping = (flowTypes?: string) =>
  objectMappingSchema.parse({ name: 'm', sourceObjectName: 'User', targetObjectName: 'User', ...(flowTypes === undefined ? {} : { flowTypes }) });

describe('flags enums are read in every form clients write and kept in Graph\'s', () => {
  it.each([
    ['Add, Update, Delete', 'Add, Update, Delete'],
    ['Add,Update', 'Add, Update'],
    ['Delete,Add', 'Add, Delete'],
    [' add ,  UPDATE ', 'Add, Update'],
    ['Add,Add', 'Add'],
    ['None', 'None'],
    ['None, Add', 'Add'],
  ])('flowTypes %j is stored as %j', (given, stored) => {
    expect(mapping(given).flowTypes).toBe(stored);
  });

  it('defaults an absent flowTypes to Graph\'s default and keeps an empty one as unstated', () => {
    expect(mapping().flowTypes).toBe('Add, Update, Delete');
    expect(mapping('').flowTypes).toBe('');
  });

  it.each(['Add, Upsert', 'Add,,Update', ','])('refuses flowTypes %j', (given) => {
    expect(objectMappingSchema.safeParse({ name: 'm', sourceObjectName: 'User', targetObjectName: 'User', flowTypes: given }).success).toBe(false);
  });

  it.each([
    ['AttributeNames,AttributeDataTypes', 'AttributeNames, AttributeDataTypes'],
    ['referenceattributes, AttributeNames', 'AttributeNames, ReferenceAttributes'],
    ['None', 'None'],
  ])('discoverabilities %j is stored as %j', (given, stored) => {
    expect(directoryDefinitionSchema.parse({ id: 'd', name: 'D', discoverabilities: given }).discoverabilities).toBe(stored);
  });

  it('refuses an unknown discoverability', () => {
    expect(directoryDefinitionSchema.safeParse({ id: 'd', name: 'D', discoverabilities: 'Everything' }).success).toBe(false);
  });
});

describe('withStatedFlags', () => {
  /** The default schema with the user mapping's flowTypes and the SCIM directory's discoverabilities set to `value`. */
  function withFlags(value: string, discoverabilities = value) {
    const copy = structuredClone(scimDefaultSchema);
    copy.synchronizationRules[0]!.objectMappings.find((candidate) => candidate.sourceObjectName === 'User')!.flowTypes = value;
    copy.directories[1]!.discoverabilities = discoverabilities;
    return copy;
  }

  it('fills unstated flags from the mapping and directory they replace, not from the defaults', () => {
    const current = withFlags('Add, Update', 'AttributeNames');
    const proposed = withFlags('', '');
    expect(hasUnstatedFlags(proposed)).toBe(true);
    const stated = withStatedFlags(proposed, current);
    expect(hasUnstatedFlags(stated)).toBe(false);
    expect(stated).toEqual(current);
  });

  it('falls back to Graph\'s defaults where nothing is replaced (a new mapping or directory, or no schema)', () => {
    const stated = withStatedFlags(withFlags('', ''), null);
    expect(stated.synchronizationRules[0]!.objectMappings.find((candidate) => candidate.sourceObjectName === 'User')!.flowTypes).toBe('Add, Update, Delete');
    expect(stated.directories[1]!.discoverabilities).toBe('None');
  });

  it('leaves stated flags alone', () => {
    const proposed = synchronizationSchemaSchema.parse(withFlags('Add', 'AttributeNames'));
    expect(hasUnstatedFlags(proposed)).toBe(false);
    expect(withStatedFlags(proposed, withFlags('Add, Update, Delete'))).toEqual(proposed);
  });
});
