import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { parseLocalEnv } from './local-config.ts';

/**
 * The local stack plays Entra ID: it signs tokens with its own keys and publishes them over loopback where Entra
 * does (`{login base}/{tid}/discovery/v2.0/keys`), so the API verifies local tokens exactly as deployed ones.
 */
export const LOCAL_AUDIENCE = 'api://graph-sync-jobs';
/** The local stack's default tenant (the local directory belongs to it). */
export const LOCAL_TENANT_ID = '00000000-0000-4000-8000-000000000001';
/** The client app id local tokens carry (`azp`). */
export const LOCAL_CLIENT_ID = 'local-cli';

const KEY_FILE = 'identity-provider-keys.json';
/** Where the running identity provider says its address is, so `npm run token` names the right issuer. */
const ADDRESS_FILE = 'identity-provider.json';

async function createKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: 'RS256', kid, use: 'sig' };
}

/** The signing keys, oldest first; the last one signs. */
async function loadOrCreateKeys(dataDir: string): Promise<JWK[]> {
  const file = path.join(dataDir, KEY_FILE);
  if (!existsSync(file)) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(file, JSON.stringify([await createKey('local-1')]), { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error; // created concurrently by `npm run token`: use that one
    });
  }
  return JSON.parse(await readFile(file, 'utf8')) as JWK[];
}

function publicKeys(keys: JWK[]): { keys: JWK[] } {
  return { keys: keys.map(({ kty, n, e, alg, kid, use }) => ({ kty, n, e, alg, kid, use }) as JWK) };
}

/** The login base of the identity provider of this data folder: the running one's, else the configured address. */
async function loginBaseOf(dataDir: string): Promise<string> {
  const file = path.join(dataDir, ADDRESS_FILE);
  if (existsSync(file)) return (JSON.parse(await readFile(file, 'utf8')) as { loginBaseUrl: string }).loginBaseUrl;
  const env = parseLocalEnv();
  return `http://${env.HOST}:${env.LOGIN_PORT}`;
}

export interface SignOptions {
  audience?: string;
  /** Lifetime in seconds (negative: already expired). */
  lifetime?: number;
  /** The `iss`; by default the v2 issuer of the token's tenant. */
  issuer?: string;
  /** The `kid` in the header; by default the signing key's. */
  kid?: string;
}

/** Signs any claims with the newest local key (tests use this to get exactly one claim wrong). */
export async function signLocalToken(dataDir: string, claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const keys = await loadOrCreateKeys(dataDir);
  const jwk = keys.at(-1) as JWK;
  const tenant = typeof claims.tid === 'string' ? claims.tid : LOCAL_TENANT_ID;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? jwk.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? `${await loginBaseOf(dataDir)}/${tenant}/v2.0`)
    .setAudience(options.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(claims.nbf ?? now)
    .setExpirationTime(now + (options.lifetime ?? 12 * 3600))
    .sign(await importJWK(jwk, 'RS256'));
}

export interface TokenOptions {
  tenantId?: string;
  readOnly?: boolean;
  /** Lifetime in seconds. */
  lifetime?: number;
}

/** An app-only v2 access token as Entra issues one for the client credentials grant. */
export async function issueLocalToken(dataDir: string, options: TokenOptions = {}): Promise<string> {
  const role = options.readOnly ? 'Synchronization.Read.All' : 'Synchronization.ReadWrite.All';
  return signLocalToken(
    dataDir,
    { tid: options.tenantId ?? LOCAL_TENANT_ID, roles: [role], azp: LOCAL_CLIENT_ID, sub: LOCAL_CLIENT_ID, ver: '2.0' },
    { lifetime: options.lifetime },
  );
}

export interface LocalIdentityProvider {
  /** What AUTH_LOGIN_BASE_URL is set to: tokens' issuers and the key sets live under it. */
  loginBaseUrl: string;
  /** Adds a new signing key (the next tokens carry its kid), as Entra rolls its keys over. */
  rotateKey: () => Promise<void>;
  /** Key-set requests served so far. */
  keyRequests: () => number;
  close: () => Promise<void>;
}

/**
 * Serves the data folder's public keys at `/{tid}/discovery/v2.0/keys` (and `/common/...`, as Entra does) on
 * loopback, and records its address in the data folder for `npm run token`.
 */
export async function startLocalIdentityProvider(options: { host: string; port: number; dataDir: string }): Promise<LocalIdentityProvider> {
  await loadOrCreateKeys(options.dataDir);
  let served = 0;
  const server = createServer((request, response) => {
    const keysPath = /^\/([A-Za-z0-9-]{1,64})\/discovery\/v2\.0\/keys$/.exec(request.url ?? '');
    if (request.method !== 'GET' || !keysPath) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
      return;
    }
    served += 1;
    loadOrCreateKeys(options.dataDir).then(
      (keys) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(publicKeys(keys))),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const loginBaseUrl = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  await writeFile(path.join(options.dataDir, ADDRESS_FILE), JSON.stringify({ loginBaseUrl }));
  return {
    loginBaseUrl,
    rotateKey: async () => {
      const keys = await loadOrCreateKeys(options.dataDir);
      keys.push(await createKey(`local-${keys.length + 1}`));
      await writeFile(path.join(options.dataDir, KEY_FILE), JSON.stringify(keys), { mode: 0o600 });
    },
    keyRequests: () => served,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
