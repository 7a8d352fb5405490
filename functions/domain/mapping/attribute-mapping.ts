import * as z from 'zod/mini';
import { ExpressionError } from './expression-error.ts';
import { evaluate } from './expression-evaluator.ts';
import { booleanOf, type ExpressionValue, sourceUsesRegex, textOf } from './expression-functions.ts';
import { filterUsesRegex } from './scoping-filter.ts';
import type {
  AttributeDefinition,
  AttributeMapping,
  AttributeMappingSource,
  ObjectDefinition,
  ObjectMapping,
  SynchronizationRule,
  SynchronizationSchema,
} from './schema.ts';

/** One mapped target value: what a SCIM attribute path receives. */
export const mappedValueSchema = z.union([z.string(), z.boolean(), z.number(), z.array(z.string())]);
/** A mapped object: target attribute path (`userName`, `emails[type eq "work"].value`, `urn:…:User:department`) → value. */
export const mappedObjectSchema = z.record(z.string(), mappedValueSchema);
export type MappedValue = z.infer<typeof mappedValueSchema>;
export type MappedObject = z.infer<typeof mappedObjectSchema>;

/** The Entra attribute the engine fills in itself: true for soft-deleted objects, false otherwise. */
export const SOFT_DELETED_ATTRIBUTE = 'IsSoftDeleted';
/** Group membership flows through member add/remove operations, not through the mapped object. */
export const MEMBERS_ATTRIBUTE = 'members';

/**
 * Entra attribute names (as the schema uses them) whose Microsoft Graph property is named differently.
 * `first` = Entra's attribute is single-valued where Graph's property is a collection.
 */
const graphProperties: Readonly<Record<string, { property: string; first?: boolean }>> = {
  objectId: { property: 'id' },
  telephoneNumber: { property: 'businessPhones', first: true },
  mobile: { property: 'mobilePhone' },
  facsimileTelephoneNumber: { property: 'faxNumber' },
  physicalDeliveryOfficeName: { property: 'officeLocation' },
};

/** The Graph property to `$select` for an Entra attribute name; null for the derived `IsSoftDeleted`. */
export function graphPropertyOf(entraName: string): string | null {
  if (entraName === SOFT_DELETED_ATTRIBUTE) return null;
  return graphProperties[entraName]?.property ?? entraName;
}

/**
 * A Graph object's attributes (Graph names, `id`) seen under Entra's attribute names as well, so expressions
 * such as `[objectId]` or `[telephoneNumber]` resolve. A name the object already carries is left as it is;
 * `IsSoftDeleted` defaults to false because the caller sets it only on soft-deleted objects.
 */
export function entraAttributes(graphAttributes: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const attributes: Record<string, unknown> = { ...graphAttributes };
  for (const [entraName, { property, first }] of Object.entries(graphProperties)) {
    if (entraName in attributes || !(property in graphAttributes)) continue;
    const value = graphAttributes[property];
    attributes[entraName] = first && Array.isArray(value) ? (value[0] ?? null) : value;
  }
  attributes[SOFT_DELETED_ATTRIBUTE] ??= false;
  return attributes;
}

/** Every attribute name a source reads, depth first. */
export function sourceAttributeNames(source: AttributeMappingSource): string[] {
  if (source.type === 'Attribute') return [source.name];
  return source.parameters.flatMap((parameter) => sourceAttributeNames(parameter.value));
}

function isMembersMapping(mapping: AttributeMapping): boolean {
  return mapping.source?.type === 'Attribute' && mapping.source.name === MEMBERS_ATTRIBUTE;
}

/** The mapping that carries group membership (`members` → `members`), if the object mapping has one. */
export function membersMapping(objectMapping: ObjectMapping): AttributeMapping | undefined {
  return objectMapping.attributeMappings.find(isMembersMapping);
}

/**
 * The Graph properties to `$select` when reading the mapping's source objects: every attribute the mappings and
 * the scoping filter read, under Graph's names (`objectId` → `id`, `mobile` → `mobilePhone`, ...), without the
 * derived `IsSoftDeleted`, always with `id`; `members` stays, as Graph's delta tracks membership through it.
 * Sorted and without duplicates.
 */
export function selectedSourceAttributes(objectMapping: ObjectMapping): string[] {
  const names = objectMapping.attributeMappings.flatMap((mapping) =>
    mapping.source === null ? [] : sourceAttributeNames(mapping.source),
  );
  const scope = objectMapping.scope;
  const scoped = scope === null ? [] : [...scope.groups, ...scope.inputFilterGroups, ...scope.categoryFilterGroups];
  names.push(...scoped.flatMap((group) => group.clauses.map((clause) => clause.sourceOperandName)));
  const properties = names.map(graphPropertyOf).filter((name): name is string => name !== null);
  return [...new Set(['id', ...properties])].sort();
}

/**
 * Whether syncing by the mapping may compile a regular expression, in its attribute mappings or its scoping filter:
 * then the regular expression engine must be loaded first (loadRegexEngine).
 */
export function mappingUsesRegex(objectMapping: ObjectMapping): boolean {
  return filterUsesRegex(objectMapping.scope ?? null) || objectMapping.attributeMappings.some((mapping) => mapping.source !== null && sourceUsesRegex(mapping.source));
}

/** A matching attribute: objects are matched on `targetAttributeName`, lowest priority number first. */
export interface MatchingAttribute {
  targetAttributeName: string;
  matchingPriority: number;
  source: AttributeMappingSource | null;
}

/** The mapping's matching attributes (matchingPriority > 0), in the order the engine tries them. */
export function matchingAttributes(objectMapping: ObjectMapping): MatchingAttribute[] {
  return objectMapping.attributeMappings
    .filter((mapping) => mapping.matchingPriority > 0)
    .sort((a, b) => a.matchingPriority - b.matchingPriority)
    .map(({ targetAttributeName, matchingPriority, source }) => ({ targetAttributeName, matchingPriority, source }));
}

/** An enabled object mapping of a schema with the object definitions on both of its sides. */
export interface ResolvedObjectMapping {
  rule: SynchronizationRule;
  objectMapping: ObjectMapping;
  sourceObject: ObjectDefinition | undefined;
  targetObject: ObjectDefinition | undefined;
}

/** The first enabled object mapping (rules by priority) whose source object is `sourceObjectName`. */
export function findObjectMapping(schema: SynchronizationSchema, sourceObjectName: string): ResolvedObjectMapping | undefined {
  const objectOf = (directoryName: string, objectName: string) =>
    schema.directories.find((directory) => directory.name === directoryName)?.objects.find((object) => object.name === objectName);
  const rules = [...schema.synchronizationRules].sort((a, b) => a.priority - b.priority);
  for (const rule of rules) {
    const objectMapping = rule.objectMappings.find((mapping) => mapping.enabled && mapping.sourceObjectName === sourceObjectName);
    if (objectMapping === undefined) continue;
    return {
      rule,
      objectMapping,
      sourceObject: objectOf(rule.sourceDirectoryName, objectMapping.sourceObjectName),
      targetObject: objectOf(rule.targetDirectoryName, objectMapping.targetObjectName),
    };
  }
  return undefined;
}

export interface MapObjectOptions {
  /** The target's object definition: values are converted to its attribute types (Boolean → JSON boolean, ...). */
  targetObject?: ObjectDefinition;
  /** `update` leaves out mappings that flow only when the object is created (flowType `ObjectAddOnly`). */
  mode?: 'add' | 'update';
}

/**
 * Maps one source object (Graph names, `id`; `IsSoftDeleted: true` on soft-deleted objects) to its target
 * values. A mapping whose value is null falls back to its defaultValue; still null, it is left out (null
 * source values are not sent). Membership is left out: it flows as member operations.
 * @throws ExpressionError when a mapping's expression cannot be evaluated for this object.
 */
export function mapObject(
  objectMapping: ObjectMapping,
  sourceAttributes: Readonly<Record<string, unknown>>,
  options: MapObjectOptions = {},
): MappedObject {
  const attributes = entraAttributes(sourceAttributes);
  const mapped: MappedObject = {};
  for (const mapping of objectMapping.attributeMappings) {
    if (isMembersMapping(mapping)) continue;
    if (options.mode === 'update' && mapping.flowType === 'ObjectAddOnly') continue;
    let value: ExpressionValue = mapping.source === null ? null : evaluate(mapping.source, attributes);
    value ??= mapping.defaultValue;
    if (value === null) continue;
    const definition = options.targetObject?.attributes.find((attribute) => attribute.name === mapping.targetAttributeName);
    mapped[mapping.targetAttributeName] = definition === undefined ? value : convert(value, definition);
  }
  return mapped;
}

function convert(value: Exclude<ExpressionValue, null>, definition: AttributeDefinition): MappedValue {
  if (definition.multivalued) {
    return Array.isArray(value) ? value : [textOf(value)];
  }
  const single = Array.isArray(value) ? (value[0] ?? '') : value;
  switch (definition.type) {
    case 'Boolean':
      return booleanOf(single, definition.name) as boolean;
    case 'Integer': {
      const number = typeof single === 'boolean' ? Number.NaN : Number(single);
      if (!Number.isInteger(number)) throw new ExpressionError(`${definition.name} expects an integer, got "${textOf(single)}"`);
      return number;
    }
    default:
      return textOf(single);
  }
}
