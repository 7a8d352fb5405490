import * as z from 'zod/mini';
import { makeEntraTokenVerifier, type AccessTokenVerifier, type TokenPolicy } from '../adapters/entra/entra-token-verifier.ts';
import { TENANT_ID } from '../http/principal.ts';

const commaList = z.pipe(
  z.string(),
  z.transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part.length > 0)),
);

/** Who may call the API, from the environment the stack (or the local stack) sets. */
export const accessTokenEnvSchema = z.object({
  /** `any`, or the admitted tenant ids, comma-separated. */
  AUTH_TENANTS: z.union([z.literal('any'), z.pipe(commaList, z.array(z.string().check(z.regex(TENANT_ID))).check(z.minLength(1)))]),
  /** Accepted `aud` values, comma-separated. */
  AUTH_AUDIENCE: z.pipe(commaList, z.array(z.string()).check(z.minLength(1))),
  /** Admitted client app ids (`azp`/`appid`), comma-separated; any app of an admitted tenant when unset. */
  AUTH_APP_IDS: z.optional(z.pipe(commaList, z.array(z.string()).check(z.minLength(1)))),
  AUTH_LOGIN_BASE_URL: z._default(z.url(), 'https://login.microsoftonline.com'),
});

export function parseTokenPolicy(env: NodeJS.ProcessEnv = process.env): TokenPolicy {
  const parsed = accessTokenEnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`Invalid Lambda environment: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`);
  }
  const { AUTH_TENANTS, AUTH_AUDIENCE, AUTH_APP_IDS, AUTH_LOGIN_BASE_URL } = parsed.data;
  return {
    loginBaseUrl: AUTH_LOGIN_BASE_URL,
    audience: AUTH_AUDIENCE,
    tenants: AUTH_TENANTS === 'any' ? 'any' : new Set(AUTH_TENANTS),
    appIds: AUTH_APP_IDS ? new Set(AUTH_APP_IDS) : null,
  };
}

const AUTH_VARIABLES = ['AUTH_TENANTS', 'AUTH_AUDIENCE', 'AUTH_APP_IDS', 'AUTH_LOGIN_BASE_URL'] as const;
let built: { settings: string; verify: AccessTokenVerifier } | undefined;

/**
 * The verifier of this container, built at first use. Deployed the settings never change; the local stack points
 * them at each start's identity provider, so a change of settings builds a new one (the key sets stay cached).
 */
export function accessTokenVerifier(env: NodeJS.ProcessEnv = process.env): AccessTokenVerifier {
  const settings = AUTH_VARIABLES.map((name) => env[name] ?? '').join('\n');
  if (built?.settings !== settings) built = { settings, verify: makeEntraTokenVerifier(parseTokenPolicy(env)) };
  return built.verify;
}
