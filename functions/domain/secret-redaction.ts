import type { SecretPair } from '../ports/secrets-vault.ts';

/** The synchronizationSecret keys whose values are credentials: never stored, logged or returned outside the vault. */
export const CONFIDENTIAL_SECRET_KEYS: ReadonlySet<string> = new Set([
  'Password', 'SecretToken', 'AppKey', 'ClientSecret', 'ConsumerSecret', 'TokenKey', 'Oauth2AccessToken',
  'Oauth2RefreshToken', 'Oauth2ClientSecret', 'Oauth2AuthorizationCode', 'ConnectionString',
  'SyncAgentCompatibilityKey', 'SourceClientSecret',
]);

/**
 * Shorter values are not searched for: they would match ordinary words of a message. Real tokens and client
 * secrets are tens of characters long.
 */
export const MIN_REDACTED_LENGTH = 6;

export const REDACTED = '[redacted]';

/** Removes secret values from text that came from a target or a directory. */
export type Redact = (text: string) => string;

/** The confidential values among a job's secrets. */
export function confidentialValues(pairs: SecretPair[]): string[] {
  return pairs.filter((pair) => CONFIDENTIAL_SECRET_KEYS.has(pair.key)).map((pair) => pair.value);
}

/**
 * A redactor for these values, in the forms a service may echo them in: as given, JSON-escaped (`\/`, `\u…`),
 * percent-encoded and form-encoded. Longer values go first, so a secret containing another is taken out whole.
 */
export function secretRedactor(values: Iterable<string | null | undefined>): Redact {
  const forms = new Set<string>();
  for (const value of values) {
    if (!value || value.length < MIN_REDACTED_LENGTH) continue;
    forms.add(value);
    forms.add(JSON.stringify(value).slice(1, -1));
    forms.add(JSON.stringify(value).slice(1, -1).replaceAll('/', '\\/'));
    forms.add(encodeURIComponent(value));
    forms.add(new URLSearchParams({ v: value }).toString().slice(2));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  if (ordered.length === 0) return (text) => text;
  return (text) => ordered.reduce((redacted, form) => redacted.split(form).join(REDACTED), text);
}
