import { ForbiddenError, UnauthenticatedError } from '../errors/service-errors.ts';

export const READ_PERMISSION = 'Synchronization.Read.All';
export const WRITE_PERMISSION = 'Synchronization.ReadWrite.All';
/** Graph's permission for the provisioning logs; the synchronization permissions read them too. */
export const AUDIT_LOG_PERMISSION = 'AuditLog.Read.All';

/** The caller, from the validated access token's claims. */
export interface Principal {
  tenantId: string;
  permissions: ReadonlySet<string>;
}

/** What a tenant id may look like (Entra's are GUIDs); anything else in `tid` is refused. */
export const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;

/** `roles` is an array of app roles; `scp` is one string of space-separated delegated scopes. */
function claimValues(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.map(String);
  return typeof claim === 'string' ? claim.split(/\s+/).filter(Boolean) : [];
}

export function principalFromClaims(claims: Record<string, unknown> | undefined): Principal {
  const tenantId = claims?.tid;
  if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) {
    throw new UnauthenticatedError('The access token has no valid tenant (tid) claim.');
  }
  const permissions = new Set([...claimValues(claims?.roles), ...claimValues(claims?.scp)]);
  return { tenantId, permissions };
}

/**
 * Reads need Read.All or ReadWrite.All; writes need ReadWrite.All (as roles or delegated scopes); the provisioning
 * logs take AuditLog.Read.All as well.
 */
export function requirePermission(principal: Principal, access: 'read' | 'write' | 'auditLog'): void {
  const has = (permission: string) => principal.permissions.has(permission);
  const allowed = has(WRITE_PERMISSION) || (access !== 'write' && has(READ_PERMISSION)) || (access === 'auditLog' && has(AUDIT_LOG_PERMISSION));
  if (!allowed) {
    const needed = { read: `${READ_PERMISSION} or ${WRITE_PERMISSION}`, write: WRITE_PERMISSION, auditLog: `${AUDIT_LOG_PERMISSION}, ${READ_PERMISSION} or ${WRITE_PERMISSION}` }[access];
    throw new ForbiddenError(`Insufficient privileges to complete the operation. Requires ${needed}.`);
  }
}
