import type { ScimPatchOperation, ScimResourceType } from '../../ports/scim-target.ts';
import type { MappedObject, MappedValue } from './attribute-mapping.ts';

export const SCIM_USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const coreSchemas: Record<ScimResourceType, string> = { Users: SCIM_USER_SCHEMA, Groups: SCIM_GROUP_SCHEMA };

/**
 * A SCIM filter string literal (RFC 7644 §3.4.2.2: a compValue string is a JSON string), `"` and `\` escaped: for
 * every value put into a filter or a value-filtered path, e.g. `members[value eq ${quoteFilterValue(id)}]`.
 */
export function quoteFilterValue(value: string): string {
  return JSON.stringify(value);
}

/** A target attribute path split into its parts: `[schema:]attribute[[filterAttribute eq "filterValue"]][.subAttribute]`. */
interface TargetPath {
  /** Extension schema URN, e.g. the enterprise user; null for core attributes. */
  schema: string | null;
  attribute: string;
  filter: { attribute: string; value: string } | null;
  subAttribute: string | null;
}

const pathPattern = /^([A-Za-z$][\w$-]*)(?:\[([A-Za-z][\w-]*) eq "((?:[^"\\]|\\.)*)"\])?(?:\.([A-Za-z$][\w$-]*))?$/;

function parsePath(key: string): TargetPath {
  const schemaEnd = key.startsWith('urn:') ? key.lastIndexOf(':') : -1;
  const schema = schemaEnd === -1 ? null : key.slice(0, schemaEnd);
  const rest = key.slice(schemaEnd + 1);
  const match = pathPattern.exec(rest);
  if (match === null) return { schema, attribute: rest, filter: null, subAttribute: null };
  const [, attribute = rest, filterAttribute, filterValue, subAttribute] = match;
  return {
    schema,
    attribute,
    filter: filterAttribute === undefined ? null : { attribute: filterAttribute, value: (filterValue ?? '').replace(/\\(.)/g, '$1') },
    subAttribute: subAttribute ?? null,
  };
}

const schemaPrefix = (path: TargetPath): string => (path.schema === null ? '' : `${path.schema}:`);

/** Where a group of keys lives together: one entry of a multi-valued attribute, one complex attribute, or one key. */
function groupOf(key: string, path: TargetPath): { key: string; kind: 'entry' | 'complex' | 'single' } {
  if (path.filter !== null) return { key: key.slice(0, key.lastIndexOf(']') + 1), kind: 'entry' };
  if (path.subAttribute !== null) return { key: `${schemaPrefix(path)}${path.attribute}`, kind: 'complex' };
  return { key, kind: 'single' };
}

type JsonObject = Record<string, unknown>;

function place(resource: JsonObject, key: string, value: MappedValue): void {
  const path = parsePath(key);
  let container = resource;
  if (path.schema !== null) {
    const schemas = resource['schemas'] as string[];
    if (!schemas.includes(path.schema)) schemas.push(path.schema);
    container = (resource[path.schema] ??= {}) as JsonObject;
  }
  if (path.filter !== null) {
    const { attribute, value: filterValue } = path.filter;
    const entries = (container[path.attribute] ??= []) as JsonObject[];
    let entry = entries.find((candidate) => candidate[attribute] === filterValue);
    if (entry === undefined) {
      entry = { [attribute]: filterValue };
      entries.push(entry);
    }
    entry[path.subAttribute ?? 'value'] = value;
    // The work entry is the primary one of its attribute, as Entra sends it (RFC 7643 §2.4 allows one primary).
    if (attribute === 'type' && filterValue === 'work') {
      delete entry['primary'];
      entry['primary'] = true;
    }
  } else if (path.subAttribute !== null) {
    ((container[path.attribute] ??= {}) as JsonObject)[path.subAttribute] = value;
  } else {
    container[path.attribute] = value;
  }
}

/**
 * The SCIM resource (RFC 7643) for a mapped object: `schemas` lists the core schema and each extension in use,
 * `name.givenName` nests, `emails[type eq "work"].value` becomes `emails: [{type: "work", value, primary: true}]`,
 * `urn:…:enterprise:2.0:User:department` goes into the extension's object.
 */
export function toScimResource(type: ScimResourceType, mapped: MappedObject): JsonObject {
  const resource: JsonObject = { schemas: [coreSchemas[type]] };
  for (const [key, value] of Object.entries(mapped)) place(resource, key, value);
  return resource;
}

function sameValue(a: MappedValue | undefined, b: MappedValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The RFC 7644 PATCH operations (lowercase ops) that turn the target's copy of `previous` into `next`: `replace`
 * on changed paths as the mapped keys spell them, `add` of a whole entry when a multi-valued entry appears
 * (a filtered replace would have no target), `remove` of a path whose value became null and of a whole entry
 * or complex attribute when nothing of it is left. Order: `next`'s keys, then the removed ones.
 */
export function patchOperations(previous: MappedObject, next: MappedObject): ScimPatchOperation[] {
  const groups = new Map<string, { kind: 'entry' | 'complex' | 'single'; keys: string[] }>();
  for (const key of new Set([...Object.keys(next), ...Object.keys(previous)])) {
    const group = groupOf(key, parsePath(key));
    const known = groups.get(group.key);
    if (known === undefined) groups.set(group.key, { kind: group.kind, keys: [key] });
    else known.keys.push(key);
  }
  const operations: ScimPatchOperation[] = [];
  for (const [groupKey, { kind, keys }] of groups) {
    const before = keys.filter((key) => previous[key] !== undefined);
    const after = keys.filter((key) => next[key] !== undefined);
    if (after.length === 0) {
      operations.push({ op: 'remove', path: groupKey });
      continue;
    }
    if (kind === 'entry' && before.length === 0) {
      const path = parsePath(keys[0] as string);
      const built: JsonObject = { schemas: [] };
      for (const key of after) place(built, key, next[key] as MappedValue);
      const container = path.schema === null ? built : (built[path.schema] as JsonObject);
      operations.push({ op: 'add', path: `${schemaPrefix(path)}${path.attribute}`, value: container[path.attribute] });
      continue;
    }
    for (const key of keys) {
      if (next[key] === undefined) operations.push({ op: 'remove', path: key });
      else if (!sameValue(previous[key], next[key])) operations.push({ op: 'replace', path: key, value: next[key] });
    }
  }
  return operations;
}

/**
 * A canonical JSON text of a mapped object (keys sorted), equal for equal objects whatever their key order.
 * The engine stores or hashes it to tell whether an object changed since it was last exported; hashing is left
 * to the caller so the domain stays free of crypto.
 */
export function fingerprint(mapped: MappedObject): string {
  return JSON.stringify(Object.fromEntries(Object.entries(mapped).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}
