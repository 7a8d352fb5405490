import type { SecretPair } from '../ports/secrets-vault.ts';

/** Graph's synchronizationSecret enum, plus this service's keys for reading another tenant's directory. */
export const SECRET_KEYS = [
  'None', 'UserName', 'Password', 'SecretToken', 'AppKey', 'BaseAddress', 'ClientIdentifier', 'ClientSecret',
  'SingleSignOnType', 'Sandbox', 'Url', 'Domain', 'ConsumerKey', 'ConsumerSecret', 'TokenKey', 'TokenExpiration',
  'Oauth2AccessToken', 'Oauth2AccessTokenCreationTime', 'Oauth2RefreshToken', 'SyncAll', 'InstanceName',
  'Oauth2ClientId', 'Oauth2ClientSecret', 'CompanyId', 'UpdateKeyOnSoftDelete', 'SynchronizationSchedule',
  'SystemOfRecord', 'SandboxName', 'EnforceDomain', 'SyncNotificationSettings', 'SkipOutOfScopeDeletions',
  'Oauth2AuthorizationCode', 'Oauth2RedirectUri', 'ApplicationTemplateIdentifier', 'Oauth2TokenExchangeUri',
  'Oauth2AuthorizationUri', 'AuthenticationType', 'Server', 'PerformInboundEntitlementGrants', 'HardDeletesEnabled',
  'SyncAgentCompatibilityKey', 'SyncAgentADContainer', 'ValidateDomain', 'TestReferences', 'ConnectionString',
  'SourceBaseAddress', 'SourceTenantId', 'SourceClientId', 'SourceClientSecret',
] as const;

/** What a job needs before it can start. */
export const REQUIRED_TARGET_KEYS = ['BaseAddress', 'SecretToken'] as const;

export type SecretKeyProblem = { kind: 'unknownKey'; key: string } | { kind: 'duplicateKey'; key: string };

/** Canonical key spelling (Graph enums are case-insensitive on input); null for an unknown key. */
export function canonicalSecretKey(key: string): string | null {
  return SECRET_KEYS.find((known) => known.toLowerCase() === key.toLowerCase()) ?? null;
}

/** Normalises key names; returns the first problem instead when a key is unknown or repeated. */
export function normaliseSecrets(pairs: SecretPair[]): SecretPair[] | SecretKeyProblem {
  const seen = new Set<string>();
  const result: SecretPair[] = [];
  for (const pair of pairs) {
    const key = canonicalSecretKey(pair.key);
    if (!key) return { kind: 'unknownKey', key: pair.key };
    if (seen.has(key)) return { kind: 'duplicateKey', key };
    seen.add(key);
    result.push({ key, value: pair.value });
  }
  return result;
}

export function secretValue(pairs: SecretPair[], key: string): string | undefined {
  return pairs.find((pair) => pair.key === key)?.value;
}

export type AddressProblem = string;

const PRIVATE_V4 = [/^10\./, /^127\./, /^169\.254\./, /^192\.168\./, /^172\.(1[6-9]|2\d|3[01])\./, /^0\./, /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./];

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
/** `::ffff:a.b.c.d`, which WHATWG URL renders as two hex groups. */
const IPV4_MAPPED = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * True for loopback, private, link-local and unspecified addresses (and `localhost`), given a URL's hostname
 * (WHATWG URL has already normalised numeric IPv4 forms). Names are not resolved here.
 */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (IPV4.test(host)) return PRIVATE_V4.some((range) => range.test(host));
  if (!host.includes(':')) return false;
  const mapped = IPV4_MAPPED.exec(host);
  if (mapped) {
    const high = parseInt(mapped[1] ?? '0', 16);
    const low = parseInt(mapped[2] ?? '0', 16);
    return isInternalHost(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  return host === '::1' || host === '::' || /^f[cd]/.test(host) || /^fe[89ab]/.test(host);
}

/**
 * A target URL this deployment may call. Deployed: https to a public host only (no metadata endpoint, no VPC
 * internals). Local mode: http is also allowed, to loopback hosts only.
 */
export function checkTargetAddress(value: string, mode: 'local' | 'deployed'): AddressProblem | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  const internal = isInternalHost(url.hostname);
  if (url.protocol === 'https:') {
    return mode === 'deployed' && internal ? 'must not point at a private, loopback or link-local address' : null;
  }
  if (url.protocol === 'http:' && mode === 'local' && internal && /^(localhost|127\.|\[::1\])/.test(url.host)) return null;
  return mode === 'local' ? 'must use https, or http to a loopback host' : 'must use https';
}
