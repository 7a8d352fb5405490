import * as z from 'zod/mini';
import { MAX_EXPRESSION_DEPTH } from './limits.ts';

/**
 * Graph's synchronizationSchema and everything it contains, as Graph spells it. Optional properties get Graph's
 * defaults, so a schema read back is always complete even when a client PUT a sparse one.
 */

const keyValueSchema = z.object({ key: z.string(), value: z.string() });

export const attributeTypeSchema = z.enum(['String', 'Integer', 'Reference', 'Binary', 'Boolean', 'DateTime']);
export const mutabilitySchema = z.enum(['ReadWrite', 'ReadOnly', 'Immutable', 'WriteOnly']);
export const attributeMappingSourceTypeSchema = z.enum(['Attribute', 'Constant', 'Function']);
export const attributeFlowBehaviorSchema = z.enum(['FlowWhenChanged', 'FlowAlways']);
export const attributeFlowTypeSchema = z.enum([
  'Always',
  'ObjectAddOnly',
  'MultiValueAddOnly',
  'ValueAddOnly',
  'AttributeAddOnly',
]);
export const objectFlowTypeSchema = z.enum(['None', 'Add', 'Update', 'Delete']);
const discoverabilitySchema = z.enum([
  'None',
  'AttributeNames',
  'AttributeDataTypes',
  'AttributeReadOnly',
  'ReferenceAttributes',
  'UnknownFutureValue',
]);

/** Splits Graph's objectFlowTypes flag string ("Add, Update, Delete") into its flags; `None` is the empty set. */
export function parseFlowTypes(flowTypes: string): Set<Exclude<ObjectFlowType, 'None'>> {
  const flags = new Set<Exclude<ObjectFlowType, 'None'>>();
  for (const part of flowTypes.split(',')) {
    const flag = objectFlowTypeSchema.parse(part.trim());
    if (flag !== 'None') flags.add(flag);
  }
  return flags;
}

/**
 * A flags value that the client sent as `""`: the Kiota SDK reads Graph's `"Add, Update"` as an empty list and
 * writes it back as `""` (it writes the flags it knows as `"Add,Update"`). It means "not read", not "no flags"
 * (that is `None`), so a schema write fills it in from the mapping or directory it replaces (see withStatedFlags).
 */
export const UNSTATED_FLAGS = '';

/**
 * A flags enum as Graph writes it: names in declaration order, comma and space (`"Add, Update"`), `None` alone for
 * none. Accepts what clients send: any order, spacing and letter case, repeats, `None` among others (it adds nothing).
 */
function flagsSchema(names: readonly string[], property: string) {
  const named = (part: string) => names.find((known) => known.toLowerCase() === part.trim().toLowerCase());
  return z.string().check(
    z.refine((value) => value.trim() === UNSTATED_FLAGS || value.split(',').every((part) => named(part) !== undefined), {
      message: `${property} must be a comma-separated list of ${names.join(', ')}`,
    }),
    // A normalisation, not a transform: the value stays a string, so the OpenAPI document can describe it.
    z.overwrite((value) => {
      if (value.trim() === UNSTATED_FLAGS) return UNSTATED_FLAGS;
      const given = value.split(',').map(named);
      if (given.includes(undefined)) return value;
      const flags = names.filter((name) => name !== 'None' && given.includes(name));
      return flags.length === 0 ? 'None' : flags.join(', ');
    }),
  );
}

const flowTypesSchema = flagsSchema(objectFlowTypeSchema.options, 'flowTypes');
const discoverabilitiesSchema = flagsSchema(discoverabilitySchema.options, 'discoverabilities');

export const referencedObjectSchema = z.object({
  referencedObjectName: z.string(),
  referencedProperty: z._default(z.nullable(z.string()), null),
});

export const attributeDefinitionSchema = z.object({
  name: z.string().check(z.minLength(1)),
  type: z._default(attributeTypeSchema, 'String'),
  anchor: z._default(z.boolean(), false),
  caseExact: z._default(z.boolean(), false),
  defaultValue: z._default(z.nullable(z.string()), null),
  flowNullValues: z._default(z.boolean(), false),
  multivalued: z._default(z.boolean(), false),
  mutability: z._default(mutabilitySchema, 'ReadWrite'),
  required: z._default(z.boolean(), false),
  apiExpressions: z._default(z.array(keyValueSchema), []),
  referencedObjects: z._default(z.array(referencedObjectSchema), []),
  metadata: z._default(z.array(keyValueSchema), []),
});

export const objectDefinitionSchema = z.object({
  name: z.string().check(z.minLength(1)),
  attributes: z._default(z.array(attributeDefinitionSchema), []),
  metadata: z._default(z.array(keyValueSchema), []),
  supportedApis: z._default(z.array(z.string()), []),
});

export const directoryDefinitionSchema = z.object({
  id: z.string(),
  name: z.string().check(z.minLength(1)),
  objects: z._default(z.array(objectDefinitionSchema), []),
  readOnly: z._default(z.boolean(), false),
  version: z._default(z.nullable(z.string()), null),
  discoveryDateTime: z._default(z.nullable(z.string()), null),
  discoverabilities: z._default(discoverabilitiesSchema, 'None'),
  metadata: z._default(z.array(keyValueSchema), []),
});

/** The parsed form of a mapping expression: an attribute, a constant, or a function over nested sources. */
export const attributeMappingSourceSchema = z.object({
  type: z._default(attributeMappingSourceTypeSchema, 'Attribute'),
  name: z.string(),
  expression: z._default(z.nullable(z.string()), null),
  get parameters() {
    return z._default(z.array(z.object({ key: z.string(), value: attributeMappingSourceSchema })), []);
  },
});

/**
 * How deep a mapping source nests (`[mail]` is 1, `ToLower([mail])` 2), counted up to `limit + 1` at most. Walks
 * any JSON value by its `parameters[].value` without recursion, so it can measure a source before anything
 * recursive (zod, the evaluator) touches it.
 */
export function sourceDepth(source: unknown, limit = MAX_EXPRESSION_DEPTH): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[source, 1]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    const parameters = (node as { parameters?: unknown }).parameters;
    if (!Array.isArray(parameters)) continue;
    for (const parameter of parameters) {
      if (typeof parameter === 'object' && parameter !== null) pending.push([(parameter as { value?: unknown }).value, depth + 1]);
    }
  }
  return deepest;
}

/** The message for a source nested deeper than MAX_EXPRESSION_DEPTH. */
export const TOO_DEEP = `An expression may nest at most ${MAX_EXPRESSION_DEPTH} levels ([attribute] is one level, ToLower([attribute]) two)`;

/** A mapping source whose depth is checked before the recursive parse: a deep one is refused, never a stack overflow. */
const boundedSourceSchema = z.pipe(
  z.unknown().check(z.refine((source) => sourceDepth(source) <= MAX_EXPRESSION_DEPTH, { message: TOO_DEEP, abort: true })),
  attributeMappingSourceSchema,
);

export const attributeMappingSchema = z.object({
  targetAttributeName: z.string().check(z.minLength(1)),
  source: z._default(z.nullable(boundedSourceSchema), null),
  defaultValue: z._default(z.nullable(z.string()), null),
  exportMissingReferences: z._default(z.boolean(), false),
  flowBehavior: z._default(attributeFlowBehaviorSchema, 'FlowWhenChanged'),
  flowType: z._default(attributeFlowTypeSchema, 'Always'),
  matchingPriority: z._default(z.int().check(z.gte(0)), 0),
});

export const filterClauseSchema = z.object({
  sourceOperandName: z.string(),
  operatorName: z.string(),
  targetOperand: z.object({ values: z._default(z.array(z.string()), []) }),
});

export const filterGroupSchema = z.object({
  name: z.string(),
  clauses: z._default(z.array(filterClauseSchema), []),
});

export const filterSchema = z.object({
  groups: z._default(z.array(filterGroupSchema), []),
  categoryFilterGroups: z._default(z.array(filterGroupSchema), []),
  inputFilterGroups: z._default(z.array(filterGroupSchema), []),
});

export const objectMappingSchema = z.object({
  name: z.string(),
  enabled: z._default(z.boolean(), true),
  flowTypes: z._default(flowTypesSchema, 'Add, Update, Delete'),
  sourceObjectName: z.string().check(z.minLength(1)),
  targetObjectName: z.string().check(z.minLength(1)),
  attributeMappings: z._default(z.array(attributeMappingSchema), []),
  // A filter without any groups scopes nothing, as null does; it is stored as null, so a client that reads null back
  // as an empty object (the Kiota SDK writes `"scope": {}`) changes nothing.
  scope: z._default(z.nullable(filterSchema), null).check(
    z.overwrite((scope) => (scope && scope.groups.length + scope.categoryFilterGroups.length + scope.inputFilterGroups.length > 0 ? scope : null)),
  ),
  metadata: z._default(z.array(keyValueSchema), []),
});

export const synchronizationRuleSchema = z.object({
  id: z.string(),
  name: z.string(),
  editable: z._default(z.boolean(), true),
  priority: z._default(z.int(), 1),
  sourceDirectoryName: z.string(),
  targetDirectoryName: z.string(),
  objectMappings: z._default(z.array(objectMappingSchema), []),
  metadata: z._default(z.array(keyValueSchema), []),
});

export const synchronizationSchemaSchema = z.object({
  id: z.string(),
  version: z.string(),
  synchronizationRules: z._default(z.array(synchronizationRuleSchema), []),
  directories: z._default(z.array(directoryDefinitionSchema), []),
});

const DEFAULT_FLOW_TYPES = 'Add, Update, Delete';

/**
 * The schema with every unstated (`""`) flags value filled in: an object mapping's flowTypes from the mapping of the
 * same rule and source and target objects in `current` (the schema being replaced), a directory's discoverabilities
 * from the directory of the same name; else Graph's defaults. So a client that lost the flags on reading (the Kiota
 * SDK) and writes the schema back changes nothing it did not mean to, and never turns deletes back on unasked.
 */
export function withStatedFlags(proposed: SynchronizationSchema, current: SynchronizationSchema | null): SynchronizationSchema {
  return {
    ...proposed,
    synchronizationRules: proposed.synchronizationRules.map((rule) => {
      const currentRule = current?.synchronizationRules.find((candidate) => candidate.id === rule.id);
      return {
        ...rule,
        objectMappings: rule.objectMappings.map((mapping) => {
          if (mapping.flowTypes !== UNSTATED_FLAGS) return mapping;
          const before = currentRule?.objectMappings.find(
            (candidate) => candidate.sourceObjectName === mapping.sourceObjectName && candidate.targetObjectName === mapping.targetObjectName,
          );
          return { ...mapping, flowTypes: before?.flowTypes ?? DEFAULT_FLOW_TYPES };
        }),
      };
    }),
    directories: proposed.directories.map((directory) => {
      if (directory.discoverabilities !== UNSTATED_FLAGS) return directory;
      const before = current?.directories.find((candidate) => candidate.name === directory.name);
      return { ...directory, discoverabilities: before?.discoverabilities ?? 'None' };
    }),
  };
}

/** Whether any flags value of the schema is unstated (withStatedFlags has something to fill in). */
export function hasUnstatedFlags(schema: SynchronizationSchema): boolean {
  return (
    schema.directories.some((directory) => directory.discoverabilities === UNSTATED_FLAGS) ||
    schema.synchronizationRules.some((rule) => rule.objectMappings.some((mapping) => mapping.flowTypes === UNSTATED_FLAGS))
  );
}

/** Graph's attributeMappingParameterSchema: one parameter of an expression function. */
export const attributeMappingParameterSchemaSchema = z.object({
  name: z.string(),
  type: attributeTypeSchema,
  required: z.boolean(),
  allowMultipleOccurrences: z.boolean(),
});

/**
 * Graph's attributeMappingFunctionSchema: an expression function and its parameters, in positional order. An entity
 * in Graph's metadata (typed clients read the function's name from `id`); `name` as Graph's documentation shows it.
 */
export const attributeMappingFunctionSchemaSchema = z.object({
  id: z.string(),
  name: z.string(),
  parameters: z.array(attributeMappingParameterSchemaSchema),
});

export type AttributeType = z.infer<typeof attributeTypeSchema>;
export type Mutability = z.infer<typeof mutabilitySchema>;
export type AttributeMappingSourceType = z.infer<typeof attributeMappingSourceTypeSchema>;
export type AttributeMappingSource = z.infer<typeof attributeMappingSourceSchema>;
export type AttributeFlowBehavior = z.infer<typeof attributeFlowBehaviorSchema>;
export type AttributeFlowType = z.infer<typeof attributeFlowTypeSchema>;
export type ObjectFlowType = z.infer<typeof objectFlowTypeSchema>;
export type ReferencedObject = z.infer<typeof referencedObjectSchema>;
export type AttributeDefinition = z.infer<typeof attributeDefinitionSchema>;
export type ObjectDefinition = z.infer<typeof objectDefinitionSchema>;
export type DirectoryDefinition = z.infer<typeof directoryDefinitionSchema>;
export type AttributeMapping = z.infer<typeof attributeMappingSchema>;
export type FilterClause = z.infer<typeof filterClauseSchema>;
export type FilterGroup = z.infer<typeof filterGroupSchema>;
export type Filter = z.infer<typeof filterSchema>;
export type ObjectMapping = z.infer<typeof objectMappingSchema>;
export type SynchronizationRule = z.infer<typeof synchronizationRuleSchema>;
export type SynchronizationSchema = z.infer<typeof synchronizationSchemaSchema>;
export type AttributeMappingParameterSchema = z.infer<typeof attributeMappingParameterSchemaSchema>;
export type AttributeMappingFunctionSchema = z.infer<typeof attributeMappingFunctionSchemaSchema>;
