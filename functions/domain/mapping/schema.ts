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

/** Splits Graph's objectFlowTypes flag string ("Add, Update, Delete") into its flags; `None` is the empty set. */
export function parseFlowTypes(flowTypes: string): Set<Exclude<ObjectFlowType, 'None'>> {
  const flags = new Set<Exclude<ObjectFlowType, 'None'>>();
  for (const part of flowTypes.split(',')) {
    const flag = objectFlowTypeSchema.parse(part.trim());
    if (flag !== 'None') flags.add(flag);
  }
  return flags;
}

const flowTypesSchema = z.string().check(
  z.refine((value) => value.split(',').every((part) => objectFlowTypeSchema.safeParse(part.trim()).success), {
    message: 'flowTypes must be a comma-separated list of None, Add, Update, Delete',
  }),
);

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
  discoverabilities: z._default(z.string(), 'None'),
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
  scope: z._default(z.nullable(filterSchema), null),
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

/** Graph's attributeMappingParameterSchema: one parameter of an expression function. */
export const attributeMappingParameterSchemaSchema = z.object({
  name: z.string(),
  type: attributeTypeSchema,
  required: z.boolean(),
  allowMultipleOccurrences: z.boolean(),
});

/** Graph's attributeMappingFunctionSchema: an expression function and its parameters, in positional order. */
export const attributeMappingFunctionSchemaSchema = z.object({
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
