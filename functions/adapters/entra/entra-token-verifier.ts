import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose';
import { ForbiddenError, ServiceUnavailableError, UnauthenticatedError } from '../../errors/service-errors.ts';
import { TENANT_ID } from '../../http/principal.ts';

/** Who may call: the token audience, the tenants admitted (or any), and optionally the client apps admitted. */
export interface TokenPolicy {
  /** Entra's login base, `https://login.microsoftonline.com`; tests and the local stack point it at loopback. */
  loginBaseUrl: string;
  /** Accepted `aud` values: the API app's client id and/or Application ID URI. */
  audience: readonly string[];
  tenants: 'any' | ReadonlySet<string>;
  /** Client app ids (`azp` of v2 tokens, `appid` of v1) admitted; null admits any app of an admitted tenant. */
  appIds: ReadonlySet<string> | null;
}

/** Verifies an `Authorization` header; resolves to the token's claims, or throws a ServiceError (401, 403, 503). */
export type AccessTokenVerifier = (authorization: string | undefined) => Promise<JWTPayload>;

/** Entra signs access tokens with RS256 only; pinning it refuses `none` and algorithm confusion. */
const ALGORITHMS = ['RS256'];
/** Leeway for the clocks of Entra and Lambda on `exp` and `nbf`. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** v1 tokens (`accessTokenAcceptedVersion` 1) name the tenant under this issuer. */
const V1_ISSUER_BASE = 'https://sts.windows.net';

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * Key sets by URL, per container: fetched on first use, kept an hour, fetched again sooner only for an unknown key id
 * (at most every 30 s, so a flood of forged kids cannot hammer Entra). Bounded: one per admitted tenant, or the one
 * common set in any-tenant mode.
 */
const keySets = new Map<string, KeySet>();

function keySetAt(url: string): KeySet {
  let keySet = keySets.get(url);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(url), { timeoutDuration: 3_000, cooldownDuration: 30_000, cacheMaxAge: 3_600_000 });
    keySets.set(url, keySet);
  }
  return keySet;
}

/** What a refused token is told; the detail of why is the client's to fix, never a secret. */
function refusal(error: unknown): Error {
  if (error instanceof errors.JWTExpired) return new UnauthenticatedError('Lifetime validation failed, the token is expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new UnauthenticatedError(`Access token validation failure: invalid '${error.claim}' claim.`);
  }
  if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError) || error.code === 'ERR_JOSE_GENERIC') {
    // The key set could not be fetched or read (Entra down, a timeout, a broken document): not the token's fault.
    const unavailable = new ServiceUnavailableError('The token signing keys cannot be read right now. Retry the request.', 10);
    unavailable.cause = error; // logged with the 503
    return unavailable;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return new UnauthenticatedError('The access token is signed with an unknown key.');
  return new UnauthenticatedError('Access token validation failure: the token is malformed or its signature is invalid.');
}

/**
 * Verifies Entra ID access tokens as API Gateway's JWT authorizer did, for many tenants: the tenant (`tid`) must be
 * admitted, the issuer must be that tenant's (v2 `{login}/{tid}/v2.0` or v1 `https://sts.windows.net/{tid}/`), the
 * signature must match a key of that tenant's key set, and audience, expiry, `nbf` and algorithm must hold.
 */
export function makeEntraTokenVerifier(policy: TokenPolicy): AccessTokenVerifier {
  const loginBase = policy.loginBaseUrl.replace(/\/+$/, '');
  return async (authorization) => {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new UnauthenticatedError('Access token is empty.', false);
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new UnauthenticatedError('Access token validation failure: the token is malformed.');
    }
    const tenantId = unverified.tid;
    if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) {
      throw new UnauthenticatedError('The access token has no valid tenant (tid) claim.');
    }
    // Checked before any key is fetched, so tokens of other tenants cost no request to Entra.
    if (policy.tenants !== 'any' && !policy.tenants.has(tenantId)) {
      throw new UnauthenticatedError(`Tokens of tenant '${tenantId}' are not accepted by this service.`);
    }
    const keys = keySetAt(`${loginBase}/${policy.tenants === 'any' ? 'common' : tenantId}/discovery/v2.0/keys`);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: [`${loginBase}/${tenantId}/v2.0`, `${V1_ISSUER_BASE}/${tenantId}/`],
        audience: [...policy.audience],
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw refusal(error);
    }
    if (policy.appIds) {
      const appId = payload.azp ?? payload.appid;
      if (typeof appId !== 'string' || !policy.appIds.has(appId)) {
        throw new ForbiddenError(`The client application '${String(appId ?? '')}' is not allowed to call this service.`);
      }
    }
    return payload;
  };
}
