import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';

/** The local stack plays the identity provider: tokens it signs are what its authorizer accepts. */
export const LOCAL_ISSUER = 'https://login.local.graph-sync-jobs/v2.0';
export const LOCAL_AUDIENCE = 'api://graph-sync-jobs';
/** The local stack's default tenant (the local directory belongs to it). */
export const LOCAL_TENANT_ID = '00000000-0000-4000-8000-000000000001';

const KEY_FILE = 'signing-key.json';

async function loadOrCreateJwk(dataDir: string): Promise<JWK> {
  const file = path.join(dataDir, KEY_FILE);
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as JWK;
  await mkdir(dataDir, { recursive: true });
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'local-1' };
  await writeFile(file, JSON.stringify(jwk), { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error; // created concurrently by `npm run token`: use that one
  });
  return JSON.parse(await readFile(file, 'utf8')) as JWK;
}

export interface TokenOptions {
  tenantId?: string;
  readOnly?: boolean;
  /** Lifetime in seconds. */
  lifetime?: number;
}

export async function issueLocalToken(dataDir: string, options: TokenOptions = {}): Promise<string> {
  const jwk = await loadOrCreateJwk(dataDir);
  const key = await importJWK(jwk, 'ES256');
  const role = options.readOnly ? 'Synchronization.Read.All' : 'Synchronization.ReadWrite.All';
  return new SignJWT({ tid: options.tenantId ?? LOCAL_TENANT_ID, roles: [role], appid: 'local-cli' })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' })
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setSubject('local-cli')
    .setIssuedAt()
    .setExpirationTime(`${options.lifetime ?? 12 * 3600}s`)
    .sign(key);
}

/** Verifies like API Gateway's JWT authorizer: signature, issuer, audience, expiry. Returns the claims or null. */
export async function makeLocalVerifier(dataDir: string) {
  const jwk = await loadOrCreateJwk(dataDir);
  const { d: _private, ...publicJwk } = jwk;
  const key = await importJWK(publicJwk, 'ES256');
  return async (authorization: string | undefined): Promise<Record<string, unknown> | null> => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) return null;
    try {
      const { payload } = await jwtVerify(match[1], key, { issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE });
      return payload as Record<string, unknown>;
    } catch {
      return null;
    }
  };
}
