import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../../ports/clock.ts';
import type { SecretCipher } from '../../ports/secrets-vault.ts';
import { ExpiringMemo } from '../cache/expiring-memo.ts';

/**
 * How long a decrypted value is reused. Freshness does not depend on it (a PUT is a new ciphertext): it bounds how
 * long plaintext stays in a container and how long a revoked key grant goes unnoticed. Longer than the default
 * interval (PT5M), so that even a service principal with one job is decrypted about once per 15 minutes per
 * container, not per tick.
 */
export const DEFAULT_DECRYPT_TTL_MS = 15 * 60_000;

export interface CachingSecretCipherOptions {
  /** Default DEFAULT_DECRYPT_TTL_MS. */
  ttlMs?: number;
  /** Default 1,000 (secrets are a few hundred bytes each). */
  maxEntries?: number;
  clock?: Clock;
}

/**
 * Decrypts each ciphertext once per TTL (KMS Decrypt is $0.03 per 10,000 calls, more than the rest of an idle
 * tick). The key is a hash of the ciphertext and its context: a secrets PUT writes a new ciphertext (fresh data
 * key or IV), which misses the cache, so the next tick sees the new secrets. Plaintext stays in this container's
 * memory; encryption passes through.
 */
export class CachingSecretCipher implements SecretCipher {
  private readonly decrypted: ExpiringMemo<string>;
  private readonly ttlMs: number;

  constructor(
    private readonly inner: SecretCipher,
    options: CachingSecretCipherOptions = {},
  ) {
    const clock = options.clock ?? systemClock;
    this.ttlMs = options.ttlMs ?? DEFAULT_DECRYPT_TTL_MS;
    this.decrypted = new ExpiringMemo({ maxEntries: options.maxEntries ?? 1_000, now: () => clock.now().getTime() });
  }

  encrypt(plaintext: string, context: Record<string, string>): Promise<string> {
    return this.inner.encrypt(plaintext, context);
  }

  decrypt(ciphertext: string, context: Record<string, string>): Promise<string> {
    // The context is part of the key: a ciphertext asked for under another context is decrypted (and refused) anew.
    const key = createHash('sha256').update(JSON.stringify([ciphertext, Object.entries(context).sort(([a], [b]) => a.localeCompare(b))])).digest('base64');
    return this.decrypted.get(key, async () => {
      const askedAt = this.decrypted.now();
      return { value: await this.inner.decrypt(ciphertext, context), expiresAt: askedAt + this.ttlMs };
    });
  }
}
