import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { secretRedactor } from '../../domain/secret-redaction.ts';
import { ExpiringMemo } from '../cache/expiring-memo.ts';

export interface ClientCredentialsOptions {
  /** e.g. `https://login.microsoftonline.com`. */
  loginBaseUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Default `https://graph.microsoft.com/.default`. */
  scope?: string;
  fetch?: typeof fetch;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Milliseconds since the epoch; injected by tests (ignored with `cache`, which has its own clock). */
  now?: () => number;
  /** Tokens shared by every provider over it (the worker keeps one per container); default one of its own. */
  cache?: TokenCache;
}

/**
 * A bearer token provider. `refused` is a token the resource server answered 401 to: it is dropped (once, however
 * many callers report it) and a fresh one is requested.
 */
export type AccessTokenProvider = (refused?: string) => Promise<string>;

/**
 * Access tokens kept per (token endpoint, client id, scope, hash of the secret): a warm worker asks the identity
 * platform once per token lifetime instead of once per tick, and a changed secret never uses a token of the old.
 */
export class TokenCache {
  readonly memo: ExpiringMemo<string>;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.memo = new ExpiringMemo({ maxEntries: options.maxEntries ?? 256, now: options.now ?? Date.now });
  }
}

const tokenResponseSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  expires_in: z.coerce.number().check(z.positive()),
});

const tokenErrorSchema = z.object({ error: z.string(), error_description: z.optional(z.string()) });

/** Renew this long before expiry, so a token never runs out in the middle of a page. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

/**
 * OAuth 2.0 client credentials against the Microsoft identity platform (`<login>/<tenant>/oauth2/v2.0/token`).
 * The token is cached until shortly before it expires; concurrent callers share one request, a failure is not kept. Failures throw an
 * Error whose message carries the identity platform's error code and first line of description, never the secret.
 */
export function clientCredentialsTokenProvider(options: ClientCredentialsOptions): AccessTokenProvider {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const { memo } = options.cache ?? new TokenCache(options.now ? { now: options.now } : {});
  const url = `${options.loginBaseUrl.replace(/\/+$/, '')}/${encodeURIComponent(options.tenantId)}/oauth2/v2.0/token`;
  const scope = options.scope ?? 'https://graph.microsoft.com/.default';
  const key = createHash('sha256')
    .update(JSON.stringify([url, options.clientId, scope, createHash('sha256').update(options.clientSecret).digest('base64')]))
    .digest('base64');

  const request = async (): Promise<{ value: string; expiresAt: number }> => {
    const issuedAt = memo.now();
    const response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        client_id: options.clientId,
        client_secret: options.clientSecret,
        scope,
        grant_type: 'client_credentials',
      }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      // A redirect could take the client secret elsewhere: it is refused (HTTP 3xx below), never followed.
      redirect: 'manual',
    });
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const failure = tokenErrorSchema.safeParse(body);
      const reason = failure.success
        ? `${failure.data.error}${failure.data.error_description ? `: ${failure.data.error_description.split(/\r?\n/)[0]}` : ''}`
        : `HTTP ${response.status}`;
      throw new Error(`Token request for tenant ${options.tenantId} failed (${secretRedactor([options.clientSecret])(reason)}).`);
    }
    const parsed = tokenResponseSchema.safeParse(body);
    if (!parsed.success) throw new Error(`Token response for tenant ${options.tenantId} is not a token.`);
    const lifetimeMs = parsed.data.expires_in * 1000;
    // Short-lived tokens are renewed at half their lifetime instead.
    return { value: parsed.data.access_token, expiresAt: issuedAt + Math.max(lifetimeMs - RENEW_BEFORE_MS, lifetimeMs / 2) };
  };

  return (refused) => {
    if (refused !== undefined) memo.forget(key, refused);
    return memo.get(key, request);
  };
}
