import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmSecretCipher } from '../../functions/adapters/crypto/aes-gcm-secret-cipher.ts';
import { CachingSecretCipher } from '../../functions/adapters/crypto/caching-secret-cipher.ts';
import { DynamoDbSecretsVault } from '../../functions/adapters/dynamodb/dynamodb-secrets-vault.ts';
import type { Clock } from '../../functions/ports/clock.ts';
import type { SecretCipher } from '../../functions/ports/secrets-vault.ts';
import { dynamoDbTableForTests } from '../support/dynamodb-table.ts';

const TABLE = 'secrets-cache';
const table = dynamoDbTableForTests(TABLE);
const TTL_MS = 5 * 60_000;

/** The local stack's cipher (KMS has no emulator here), counting the decrypts that reach it. */
function countingCipher() {
  const inner = new AesGcmSecretCipher(randomBytes(32));
  const counted = { decrypts: 0, failNext: false };
  const cipher: SecretCipher = {
    encrypt: (plaintext, context) => inner.encrypt(plaintext, context),
    decrypt: async (ciphertext, context) => {
      counted.decrypts += 1;
      if (counted.failNext) {
        counted.failNext = false;
        throw new Error('ThrottlingException');
      }
      return inner.decrypt(ciphertext, context);
    },
  };
  return { cipher, counted };
}

function setup() {
  let time = Date.parse('2026-01-01T00:00:00Z');
  const clock: Clock = { now: () => new Date(time) };
  const { cipher, counted } = countingCipher();
  const vault = new DynamoDbSecretsVault(table.client, TABLE, new CachingSecretCipher(cipher, { ttlMs: TTL_MS, clock }));
  return { vault, counted, advance: (ms: number) => void (time += ms) };
}

const token = (value: string) => [
  { key: 'BaseAddress', value: 'https://scim.example.com/scim/v2' },
  { key: 'SecretToken', value },
];

describe('CachingSecretCipher under the secrets vault', () => {
  it('decrypts once for many ticks within the TTL, and again after it', async () => {
    const { vault, counted, advance } = setup();
    await vault.put('t1', 'sp1', token('one'));
    for (let tick = 0; tick < 20; tick += 1) {
      expect(await vault.read('t1', 'sp1')).toEqual(token('one'));
      advance(TTL_MS / 20 - 1);
    }
    expect(counted.decrypts).toBe(1);
    advance(TTL_MS);
    expect(await vault.read('t1', 'sp1')).toEqual(token('one'));
    expect(counted.decrypts).toBe(2);
  });

  it('sees a secrets PUT at the very next read (the new ciphertext misses the cache)', async () => {
    const { vault, counted } = setup();
    await vault.put('t1', 'sp2', token('before'));
    expect(await vault.read('t1', 'sp2')).toEqual(token('before'));
    await vault.put('t1', 'sp2', token('after'));
    expect(await vault.read('t1', 'sp2')).toEqual(token('after'));
    // Even the same secrets again are a new ciphertext: a PUT never leaves a stale read behind.
    await vault.put('t1', 'sp2', token('before'));
    expect(await vault.read('t1', 'sp2')).toEqual(token('before'));
    expect(counted.decrypts).toBe(3);
  });

  it('keeps each service principal apart, and one decrypt for concurrent reads', async () => {
    const { vault, counted } = setup();
    await vault.put('t1', 'sp3', token('three'));
    await vault.put('t1', 'sp4', token('four'));
    const reads = await Promise.all([vault.read('t1', 'sp3'), vault.read('t1', 'sp4'), vault.read('t1', 'sp3'), vault.read('t1', 'sp4')]);
    expect(reads).toEqual([token('three'), token('four'), token('three'), token('four')]);
    expect(counted.decrypts).toBe(2);
  });

  it('does not keep a failed decrypt: the next tick decrypts again', async () => {
    const { vault, counted } = setup();
    await vault.put('t1', 'sp5', token('five'));
    counted.failNext = true;
    await expect(vault.read('t1', 'sp5')).rejects.toThrow('ThrottlingException');
    expect(await vault.read('t1', 'sp5')).toEqual(token('five'));
    expect(await vault.read('t1', 'sp5')).toEqual(token('five'));
    expect(counted.decrypts).toBe(2);
  });

  it('bounds its entries: the least recently used is decrypted again', async () => {
    const { cipher, counted } = countingCipher();
    const caching = new CachingSecretCipher(cipher, { maxEntries: 2 });
    const context = { tenantId: 't1', servicePrincipalId: 'sp6' };
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((value) => cipher.encrypt(value, context)));
    for (const sealed of [a!, b!, a!, c!, a!, b!]) await caching.decrypt(sealed, context);
    // a, b, (a hit), c evicts b, (a hit), b again.
    expect(counted.decrypts).toBe(4);
  });
});
