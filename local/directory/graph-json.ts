import { BadRequestError } from '../../functions/errors/service-errors.ts';
import { defaultSelect, selectableProperties, type ObjectKind } from './directory-schemas.ts';
import type { DirectoryRecord } from './directory-state.ts';

/** Kept with a user's properties, rendered only as relationships (`manager@delta`, `$expand=manager`). */
const RELATIONSHIPS = new Set(['manager', 'formerManager']);

export const graphType: Record<ObjectKind, string> = {
  user: '#microsoft.graph.user',
  group: '#microsoft.graph.group',
};

/**
 * Parses `$select`; null when absent. Unknown names are a 400, as in Graph. `members` is allowed where
 * `allowMembers` says so (groups' delta).
 */
export function parseSelect(kind: ObjectKind, raw: string | null, allowMembers = false): string[] | null {
  if (raw === null || raw.trim() === '') return null;
  const names = [...new Set(raw.split(',').map((name) => name.trim()).filter(Boolean))];
  for (const name of names) {
    if (!selectableProperties[kind].has(name) && !(allowMembers && name === 'members')) {
      throw new BadRequestError(
        `Could not find a property named '${name}' on type 'microsoft.graph.${kind}'.`,
        'Request_BadRequest',
      );
    }
  }
  return names;
}

/**
 * An object's Graph JSON: `id` first, then the selected properties (null when unset), or every stored property
 * when nothing was selected and `allWhenUnselected` holds (single-object reads), else Graph's default set.
 */
export function renderProperties(
  record: DirectoryRecord,
  select: readonly string[] | null,
  allWhenUnselected = false,
): Record<string, unknown> {
  const names = select ?? (allWhenUnselected ? Object.keys(record.properties) : defaultSelect[record.kind]);
  const json: Record<string, unknown> = { id: record.id };
  for (const name of names) {
    if (name === 'id' || name === 'members' || RELATIONSHIPS.has(name)) continue;
    json[name] = record.properties[name] ?? null;
  }
  return json;
}

/**
 * A user's manager in a delta entry, when `manager` is selected: `manager@delta` with the manager (Graph's shape), or
 * the former one marked removed. A whole entry (`since` null) carries it only when there is a manager; an update only
 * when the manager changed after `since`.
 */
export function renderManagerDelta(record: DirectoryRecord, select: readonly string[] | null, since: number | null): Record<string, unknown> {
  const previous = typeof record.properties.formerManager === 'string' ? record.properties.formerManager : null;
  if (record.kind !== 'user' || !select?.includes('manager')) return {};
  const manager = typeof record.properties.manager === 'string' ? record.properties.manager : null;
  if (since !== null && (record.changed.manager ?? 0) <= since) return {};
  if (manager !== null) return { 'manager@delta': [{ '@odata.type': '#microsoft.graph.user', id: manager }] };
  if (since === null) return {};
  return { 'manager@delta': [{ '@odata.type': '#microsoft.graph.user', id: previous ?? record.id, '@removed': { reason: 'deleted' } }] };
}

/**
 * An updated object's delta entry: `id` and the selected (or default) properties that changed after `since`, with
 * their current values (null when cleared), as Graph answers with `Prefer: return=minimal`.
 */
export function renderChangedProperties(
  record: DirectoryRecord,
  select: readonly string[] | null,
  since: number,
): Record<string, unknown> {
  const json: Record<string, unknown> = { id: record.id };
  for (const name of select ?? defaultSelect[record.kind]) {
    if (name === 'id' || name === 'members' || RELATIONSHIPS.has(name) || (record.changed[name] ?? 0) <= since) continue;
    json[name] = record.properties[name] ?? null;
  }
  return json;
}
