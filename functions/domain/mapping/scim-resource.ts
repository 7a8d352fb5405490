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
  readonly schema: string | null;
  readonly attribute: string;
  readonly filter: { readonly attribute: string; readonly value: string } | null;
  readonly subAttribute: string | null;
}

const pathPattern = /^([A-Za-z$][\w$-]*)(?:\[([A-Za-z][\w-]*) eq "((?:[^"\\]|\\.)*)"\])?(?:\.([A-Za-z$][\w$-]*))?$/;

/** Parsed paths by key: a job's keys are its mapping's few target attributes, parsed for every object and change. */
const parsedPaths = new Map<string, TargetPath>();
/** Keys kept at most (they come from mappings, a bounded set; the bound only guards against an unbounded one). */
const PARSED_PATHS_MAX = 10_000;

function parsePath(key: string): TargetPath {
  let path = parsedPaths.get(key);
  if (path === undefined) {
    if (parsedPaths.size >= PARSED_PATHS_MAX) parsedPaths.clear();
    path = parseUncached(key);
    parsedPaths.set(key, path);
  }
  return path;
}

function parseUncached(key: string): TargetPath {
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
 *
 * An entry marker in `previous` (see {@link fromScimResource}) says the entry exists although none of its mapped
 * sub-attributes do: its values are then replaced into it rather than added as a second entry of that type.
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
    const after = keys.filter((key) => next[key] !== undefined && !isEntryMarker(key));
    if (after.length === 0) {
      if (before.length > 0) operations.push({ op: 'remove', path: groupKey });
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
      if (isEntryMarker(key)) continue;
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

/**
 * `emails[type eq "work"].type`: a key whose sub-attribute is the filter's own attribute carries nothing the
 * filter does not already say. {@link fromScimResource} uses it to say "this entry exists"; it never becomes an op.
 */
function isEntryMarker(key: string): boolean {
  const path = parsePath(key);
  return path.filter !== null && path.subAttribute === path.filter.attribute;
}

/** A member of a SCIM object by attribute name: exact first, else case-insensitively (RFC 7643 §2.1). */
function member(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null || Array.isArray(object)) return undefined;
  const record = object as JsonObject;
  if (name in record) return record[name];
  const lower = name.toLowerCase();
  const found = Object.keys(record).find((key) => key.toLowerCase() === lower);
  return found === undefined ? undefined : record[found];
}

/** Where a path's attribute lives: the resource, or its extension object; core schema URNs address the resource. */
function containerOf(resource: Readonly<JsonObject>, path: TargetPath): unknown {
  if (path.schema === null) return resource;
  const nested = member(resource, path.schema);
  if (nested !== undefined) return nested;
  return Object.values(coreSchemas).some((core) => core.toLowerCase() === path.schema?.toLowerCase()) ? resource : undefined;
}

/** The first entry of a multi-valued attribute that the filter selects; `type` values compare case-insensitively. */
function entryOf(entries: unknown, filter: { attribute: string; value: string }): unknown {
  if (!Array.isArray(entries)) return undefined;
  return entries.find((entry) => {
    const value = member(entry, filter.attribute);
    return typeof value === 'string' && value.toLowerCase() === filter.value.toLowerCase();
  });
}

/**
 * A value the target holds as a mapped value: scalars as they are, a reference object (`manager: {value, $ref}`)
 * as its `value`, a multi-valued attribute as the list of its values. Anything else has no mapped form.
 */
function mappedValueOf(held: unknown): MappedValue | undefined {
  if (typeof held === 'string' || typeof held === 'boolean' || typeof held === 'number') return held;
  if (Array.isArray(held)) {
    const values = held.map((item) => mappedValueOf(item));
    return values.every((value) => typeof value === 'string') ? (values as string[]) : undefined;
  }
  const value = member(held, 'value');
  return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number' ? value : undefined;
}

/**
 * The mapped object a SCIM resource holds at the mapped `keys` (the key grammar of {@link toScimResource}): for
 * each key, the value of the resource as a target returned it, keys it holds nothing at (or null) left out.
 * `name.givenName` reads the complex attribute, `emails[type eq "work"].value` the first entry of that type,
 * `urn:…:enterprise:2.0:User:manager` the extension's object (a reference as its `value`). Values come as the
 * target holds them: `active` is a boolean even where the mapping yields `"True"`.
 *
 * It is the `previous` with which {@link patchOperations} brings an account the engine adopts to the mapped state:
 * entries are replaced in place, never appended a second time. A typed entry the resource holds with none of the
 * keys' sub-attributes is reported by its marker, `emails[type eq "work"].type`, so that it is filled, not doubled.
 */
export function fromScimResource(resource: Readonly<Record<string, unknown>>, keys: Iterable<string>): MappedObject {
  const mapped: MappedObject = {};
  /** Per typed entry the resource holds: its marker, and whether one of the keys found a value in it. */
  const entries = new Map<string, { marker: string; value: string; filled: boolean }>();
  for (const key of new Set(keys)) {
    const path = parsePath(key);
    const container = containerOf(resource, path);
    let held: unknown;
    if (path.filter !== null) {
      const entry = entryOf(member(container, path.attribute), path.filter);
      if (entry === undefined) continue;
      const group = groupOf(key, path).key;
      const known = entries.get(group) ?? { marker: `${group}.${path.filter.attribute}`, value: path.filter.value, filled: false };
      entries.set(group, known);
      held = path.subAttribute === path.filter.attribute ? undefined : member(entry, path.subAttribute ?? 'value');
      known.filled ||= mappedValueOf(held) !== undefined;
    } else if (path.subAttribute !== null) {
      held = member(member(container, path.attribute), path.subAttribute);
    } else {
      held = member(container, path.attribute);
    }
    const value = mappedValueOf(held);
    if (value !== undefined) mapped[key] = value;
  }
  for (const { marker, value, filled } of entries.values()) if (!filled) mapped[marker] = value;
  return mapped;
}
