import type { ScimPatchOperation } from '../../ports/scim-target.ts';

/** RFC 7643's multi-valued User attributes (§4.1.2), which some targets take only one value of. */
const MULTI_VALUED = new Set(['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates']);

/** A path into a typed entry: `phoneNumbers[type eq "mobile"].value`. */
const TYPED_ENTRY = /^([A-Za-z0-9]+)\[type eq "((?:[^"\\]|\\.)*)"\]/;

type Entry = Record<string, unknown>;

/** The entry a target that takes one value keeps: the primary one (the work entry, as mapped), else the first. */
function kept(entries: unknown[]): unknown[] {
  const primary = entries.find((entry) => (entry as Entry | null)?.primary === true);
  return [primary ?? entries[0]];
}

/** A resource with one value per multi-valued attribute; `reduced` tells whether anything was left out. */
export function oneValueEach(resource: Record<string, unknown>): { resource: Record<string, unknown>; reduced: boolean } {
  let reduced = false;
  const result = { ...resource };
  for (const [name, value] of Object.entries(resource)) {
    if (MULTI_VALUED.has(name) && Array.isArray(value) && value.length > 1) {
      result[name] = kept(value);
      reduced = true;
    }
  }
  return { resource: result, reduced };
}

/**
 * PATCH operations for a target that takes one value per multi-valued attribute: those addressing an entry other
 * than the work one are left out, and values added to such an attribute keep only a work or primary one.
 */
export function oneValueOperations(operations: readonly ScimPatchOperation[]): { operations: ScimPatchOperation[]; reduced: boolean } {
  let reduced = false;
  const result: ScimPatchOperation[] = [];
  for (const operation of operations) {
    const typed = operation.path === undefined ? null : TYPED_ENTRY.exec(operation.path);
    if (typed && MULTI_VALUED.has(typed[1]!) && typed[2] !== 'work') {
      reduced = true;
      continue;
    }
    if (operation.path !== undefined && MULTI_VALUED.has(operation.path) && Array.isArray(operation.value)) {
      // An entry added beside the one the account holds would be a second value: only a work or primary one goes.
      const primary = operation.value.filter((entry) => (entry as Entry | null)?.primary === true || (entry as Entry | null)?.type === 'work');
      if (primary.length !== operation.value.length) reduced = true;
      if (primary.length > 0) result.push({ ...operation, value: kept(primary) });
    } else if (operation.path === undefined && typeof operation.value === 'object' && operation.value !== null && !Array.isArray(operation.value)) {
      const one = oneValueEach(operation.value as Record<string, unknown>);
      result.push(one.reduced ? { ...operation, value: one.resource } : operation);
      reduced ||= one.reduced;
    } else {
      result.push(operation);
    }
  }
  return { operations: result, reduced };
}
