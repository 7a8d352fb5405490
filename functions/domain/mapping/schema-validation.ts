import { ExpressionError } from './expression-error.ts';
import { constantRegexProblems, findFunction } from './expression-functions.ts';
import { parseExpression } from './expression.ts';
import { MAX_SCHEMA_BYTES } from './limits.ts';
import { checkFilter } from './scoping-filter.ts';
import { SOFT_DELETED_ATTRIBUTE, MEMBERS_ATTRIBUTE } from './attribute-mapping.ts';
import type { AttributeMappingSource, ObjectDefinition, SynchronizationSchema } from './schema.ts';

declare const checked: unique symbol;
/** A schema checkSchema accepted: its defaults filled in, its expressions parsed, ready to store. */
export type CheckedSchema = SynchronizationSchema & { readonly [checked]: true };

/** Source attributes every object has without being listed: the engine derives or tracks them itself. */
const IMPLICIT_SOURCE_ATTRIBUTES = new Set([SOFT_DELETED_ATTRIBUTE, MEMBERS_ATTRIBUTE, 'objectId', 'id']);

/**
 * Checks a schema a client PUT before it replaces the job's: the rules must name directories and objects the
 * schema defines, map to attributes the target object has, read attributes the source object has, call functions
 * the engine evaluates, run regular expressions the engine can run, and match on something; stored, it must fit
 * MAX_SCHEMA_BYTES. A mapping given only as expression text is parsed here. Returns the schema ready to store,
 * or the problems (each a sentence naming where).
 */
export function checkSchema(schema: SynchronizationSchema): { schema: CheckedSchema } | { problems: string[] } {
  const problems: string[] = [];
  const directory = (name: string) => schema.directories.find((candidate) => candidate.name === name);

  for (const definition of schema.directories) {
    for (const object of definition.objects) {
      const anchors = object.attributes.filter((attribute) => attribute.anchor).length;
      if (anchors > 1) problems.push(`Object ${definition.name}/${object.name} has ${anchors} anchor attributes; at most one is allowed.`);
    }
  }

  const rules = schema.synchronizationRules.map((rule) => {
    const sourceDirectory = directory(rule.sourceDirectoryName);
    const targetDirectory = directory(rule.targetDirectoryName);
    if (!sourceDirectory) problems.push(`Rule ${rule.id}: no directory named '${rule.sourceDirectoryName}'.`);
    if (!targetDirectory) problems.push(`Rule ${rule.id}: no directory named '${rule.targetDirectoryName}'.`);
    const objectMappings = rule.objectMappings.map((mapping) => {
      const where = `Rule ${rule.id}, mapping '${mapping.name}'`;
      const source = sourceDirectory?.objects.find((object) => object.name === mapping.sourceObjectName);
      const target = targetDirectory?.objects.find((object) => object.name === mapping.targetObjectName);
      if (sourceDirectory && !source) problems.push(`${where}: source object '${mapping.sourceObjectName}' is not defined.`);
      if (targetDirectory && !target) problems.push(`${where}: target object '${mapping.targetObjectName}' is not defined.`);
      if (mapping.scope) {
        problems.push(...checkFilter(mapping.scope).map((problem) => `${where}: ${problem}`));
        const clauses = [...mapping.scope.groups, ...mapping.scope.inputFilterGroups].flatMap((group) => group.clauses);
        for (const clause of clauses) {
          if (source && clause.sourceOperandName && !IMPLICIT_SOURCE_ATTRIBUTES.has(clause.sourceOperandName) && !has(source, clause.sourceOperandName)) {
            problems.push(`${where}: the scoping filter reads '${clause.sourceOperandName}', which the source object does not have.`);
          }
        }
      }
      const attributeMappings = mapping.attributeMappings.map((attributeMapping) => {
        const at = `${where}, target attribute '${attributeMapping.targetAttributeName}'`;
        if (target && attributeMapping.targetAttributeName !== MEMBERS_ATTRIBUTE && !has(target, attributeMapping.targetAttributeName)) {
          problems.push(`${at}: the target object has no such attribute.`);
        }
        if (attributeMapping.source === null) {
          if (attributeMapping.defaultValue === null) problems.push(`${at}: needs a source or a defaultValue.`);
          return attributeMapping;
        }
        const parsed = parsedSource(attributeMapping.source, at, problems);
        if (parsed) problems.push(...constantRegexProblems(parsed).map((problem) => `${at}: ${problem}.`));
        if (parsed && source) checkSource(parsed, source, at, problems);
        return { ...attributeMapping, source: parsed ?? attributeMapping.source };
      });
      if (mapping.enabled && !attributeMappings.some((attributeMapping) => attributeMapping.matchingPriority > 0)) {
        problems.push(`${where}: no attribute has a matchingPriority above 0, so existing accounts could not be matched.`);
      }
      return { ...mapping, attributeMappings };
    });
    return { ...rule, objectMappings };
  });

  if (problems.length > 0) return { problems };
  const checked = { ...schema, synchronizationRules: rules };
  const bytes = Buffer.byteLength(JSON.stringify(checked));
  if (bytes > MAX_SCHEMA_BYTES) {
    return {
      problems: [
        `The schema would be stored as ${bytes} bytes (with its defaults filled in and its expressions parsed); at most ${MAX_SCHEMA_BYTES} are allowed.`,
      ],
    };
  }
  return { schema: checked as CheckedSchema };
}

const attributeNames = new WeakMap<ObjectDefinition, Set<string>>();

/** Whether the object defines the attribute (any case); a set per object, as a schema may list thousands. */
function has(object: ObjectDefinition, name: string): boolean {
  let names = attributeNames.get(object);
  if (!names) {
    names = new Set(object.attributes.map((attribute) => attribute.name.toLowerCase()));
    attributeNames.set(object, names);
  }
  return names.has(name.toLowerCase());
}

/** A Function given only as its expression text is parsed into its structured form. */
function parsedSource(source: AttributeMappingSource, at: string, problems: string[]): AttributeMappingSource | null {
  if (source.type !== 'Function' || source.parameters.length > 0 || !source.expression) return source;
  try {
    return parseExpression(source.expression);
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    problems.push(`${at}: ${error.message}.`);
    return null;
  }
}

function checkSource(source: AttributeMappingSource, object: ObjectDefinition, at: string, problems: string[]): void {
  if (source.type === 'Attribute' && !IMPLICIT_SOURCE_ATTRIBUTES.has(source.name) && !has(object, source.name)) {
    problems.push(`${at}: the source object has no attribute '${source.name}'.`);
  }
  if (source.type === 'Function' && !findFunction(source.name)) problems.push(`${at}: unknown function '${source.name}'.`);
  for (const parameter of source.parameters) checkSource(parameter.value, object, at, problems);
}
