/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5). Attribute names are case-insensitive; a path is
 * `attr`, `attr.sub`, or either one qualified by its schema URN (`urn:...:enterprise:2.0:User:department`).
 */

type Json = Record<string, unknown>;

/** Attributes returned whatever the request asks (returned=always). */
const alwaysReturned = new Set(['id', 'schemas']);

/** Splits a comma-separated attribute list into lower-case key paths within a resource of `schema`. */
export function parseAttributeList(list: string | undefined, schema: { schema: string; extensions: readonly string[] }): string[][] {
  if (list === undefined || list.trim() === '') return [];
  const core = schema.schema.toLowerCase();
  const extensions = schema.extensions.map((urn) => urn.toLowerCase());
  return list
    .split(',')
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== '')
    .map((path) => {
      if (path.startsWith(`${core}:`)) return path.slice(core.length + 1).split('.');
      const extension = extensions.find((urn) => path === urn || path.startsWith(`${urn}:`));
      if (extension === undefined) return path.split('.');
      return path === extension ? [extension] : [extension, ...path.slice(extension.length + 1).split('.')];
    });
}

function findKey(object: Json, lowerName: string): string | undefined {
  if (lowerName in object) return lowerName;
  return Object.keys(object).find((key) => key.toLowerCase() === lowerName);
}

function pick(source: unknown, path: string[]): unknown {
  if (path.length === 0) return source;
  if (Array.isArray(source)) {
    const picked = source.map((item) => pick(item, path)).filter((item) => item !== undefined);
    return picked.length === 0 ? undefined : picked;
  }
  if (typeof source !== 'object' || source === null) return undefined;
  const [head, ...rest] = path as [string, ...string[]];
  const key = findKey(source as Json, head);
  if (key === undefined) return undefined;
  const value = pick((source as Json)[key], rest);
  return value === undefined ? undefined : { [key]: value };
}

function merge(target: Json, addition: Json): void {
  for (const [key, value] of Object.entries(addition)) {
    const existing = target[key];
    if (Array.isArray(existing) && Array.isArray(value)) {
      target[key] = existing.map((item, index) => ({ ...(item as Json), ...(value[index] as Json) }));
    } else if (isObject(existing) && isObject(value)) {
      merge(existing, value);
    } else {
      target[key] = value;
    }
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function without(source: unknown, path: string[]): unknown {
  if (Array.isArray(source)) return source.map((item) => without(item, path));
  if (!isObject(source)) return source;
  const [head, ...rest] = path as [string, ...string[]];
  const key = findKey(source, head);
  if (key === undefined) return source;
  const copy = { ...source };
  if (rest.length === 0) delete copy[key];
  else copy[key] = without(source[key], rest);
  return copy;
}

/** Applies the request's attribute selection to a rendered resource. */
export function projectResource(resource: Json, attributes: string[][], excludedAttributes: string[][]): Json {
  if (attributes.length > 0) {
    const result: Json = {};
    for (const key of alwaysReturned) if (key in resource) result[key] = resource[key];
    for (const path of attributes) {
      const picked = pick(resource, path);
      if (isObject(picked)) merge(result, picked);
    }
    return result;
  }
  let result: unknown = resource;
  for (const path of excludedAttributes) {
    if (path.length === 1 && alwaysReturned.has(path[0] as string)) continue;
    result = without(result, path);
  }
  return result as Json;
}
