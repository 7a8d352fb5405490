import { ForbiddenError, UnauthenticatedError } from '../errors/service-errors.ts';

export const READ_PERMISSION = 'Synchronization.Read.All';
export const WRITE_PERMISSION = 'Synchronization.ReadWrite.All';

/** The caller, from the validated access token's claims. */
export interface Principal {
  tenantId: string;
  permissions: ReadonlySet<string>;
}

const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;

/**
 * API Gateway's JWT authorizer hands claims over flattened: arrays become `"[a b]"` strings. The local stack
 * passes them as JSON values. Both are read here.
 */
function claimValues(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.map(String);
  if (typeof claim !== 'string') return [];
  const text = claim.startsWith('[') && claim.endsWith(']') ? claim.slice(1, -1) : claim;
  return text.split(/[\s,]+/).filter(Boolean);
}

export function principalFromClaims(claims: Record<string, unknown> | undefined): Principal {
  const tenantId = claims?.tid;
  if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) {
    throw new UnauthenticatedError('The access token has no valid tenant (tid) claim.');
  }
  const permissions = new Set([...claimValues(claims?.roles), ...claimValues(claims?.scp)]);
  return { tenantId, permissions };
}

/** Reads need Read.All or ReadWrite.All; writes need ReadWrite.All (as roles or delegated scopes). */
export function requirePermission(principal: Principal, access: 'read' | 'write'): void {
  const allowed =
    principal.permissions.has(WRITE_PERMISSION) || (access === 'read' && principal.permissions.has(READ_PERMISSION));
  if (!allowed) {
    const needed = access === 'read' ? `${READ_PERMISSION} or ${WRITE_PERMISSION}` : WRITE_PERMISSION;
    throw new ForbiddenError(`Insufficient privileges to complete the operation. Requires ${needed}.`);
  }
}
