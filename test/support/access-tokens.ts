import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JWTPayload } from 'jose';
import {
  LOCAL_AUDIENCE,
  LOCAL_CLIENT_ID,
  signLocalToken,
  startLocalIdentityProvider,
  type LocalIdentityProvider,
  type SignOptions,
} from '../../local/local-auth.ts';

const AUTH_VARIABLES = ['AUTH_TENANTS', 'AUTH_AUDIENCE', 'AUTH_APP_IDS', 'AUTH_LOGIN_BASE_URL'] as const;

export interface TestIdentityProvider {
  identity: LocalIdentityProvider;
  /** Signs any claims with the provider's newest key; the issuer is the v2 issuer of `claims.tid` unless given. */
  sign: (claims: JWTPayload, options?: SignOptions) => Promise<string>;
  /** `Bearer <token>` of an app-only token of `tenantId` with these roles (read-write by default). */
  bearer: (tenantId: string, roles?: string[]) => Promise<string>;
  /** Stops the provider and puts the AUTH_* variables back as they were. */
  close: () => Promise<void>;
}

/**
 * An Entra-like identity provider on a loopback port, with the AUTH_* environment the API functions read pointed at
 * it: tests invoke a Lambda handler with an API Gateway event carrying a real bearer token, as deployed.
 */
export async function startTestIdentityProvider(
  policy: { tenants?: string; appIds?: string; audience?: string } = {},
): Promise<TestIdentityProvider> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'test-idp-'));
  const identity = await startLocalIdentityProvider({ host: '127.0.0.1', port: 0, dataDir });
  const previous = Object.fromEntries(AUTH_VARIABLES.map((name) => [name, process.env[name]]));
  Object.assign(process.env, {
    AUTH_LOGIN_BASE_URL: identity.loginBaseUrl,
    AUTH_AUDIENCE: policy.audience ?? LOCAL_AUDIENCE,
    AUTH_TENANTS: policy.tenants ?? 'any',
  });
  if (policy.appIds) process.env.AUTH_APP_IDS = policy.appIds;
  else delete process.env.AUTH_APP_IDS;
  const sign = (claims: JWTPayload, options?: SignOptions) => signLocalToken(dataDir, claims, options);
  return {
    identity,
    sign,
    bearer: async (tenantId, roles = ['Synchronization.ReadWrite.All']) =>
      `Bearer ${await sign({ tid: tenantId, roles, azp: LOCAL_CLIENT_ID, ver: '2.0' })}`,
    close: async () => {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await identity.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
