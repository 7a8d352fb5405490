import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AesGcmSecretCipher } from '../../functions/adapters/crypto/aes-gcm-secret-cipher.ts';
import { principalFromClaims, requirePermission } from '../../functions/http/principal.ts';
import { ForbiddenError, UnauthenticatedError } from '../../functions/errors/service-errors.ts';

describe('AesGcmSecretCipher', () => {
  const cipher = new AesGcmSecretCipher(randomBytes(32));
  const context = { tenantId: 't1', servicePrincipalId: 'sp1' };

  it('round-trips and never leaves the plaintext in the ciphertext', async () => {
    const secret = '[{"key":"SecretToken","value":"s3cr3t-value"}]';
    const sealed = await cipher.encrypt(secret, context);
    expect(sealed).not.toContain('s3cr3t');
    expect(await cipher.decrypt(sealed, context)).toBe(secret);
  });

  it('refuses a ciphertext moved to another tenant or service principal', async () => {
    const sealed = await cipher.encrypt('x', context);
    await expect(cipher.decrypt(sealed, { ...context, tenantId: 't2' })).rejects.toThrow();
    await expect(cipher.decrypt(sealed, { ...context, servicePrincipalId: 'sp2' })).rejects.toThrow();
  });

  it('refuses a ciphertext sealed with another key', async () => {
    const sealed = await new AesGcmSecretCipher(randomBytes(32)).encrypt('x', context);
    await expect(cipher.decrypt(sealed, context)).rejects.toThrow();
  });
});

describe('principalFromClaims and requirePermission', () => {
  const tid = '00000000-0000-4000-8000-000000000001';

  it.each([
    ['roles as an array', { tid, roles: ['Synchronization.ReadWrite.All', 'Other.Role'] }],
    ['a delegated scope string', { tid, scp: 'User.Read Synchronization.ReadWrite.All' }],
  ])('reads permissions from %s', (_name, claims) => {
    const principal = principalFromClaims(claims);
    expect(principal.tenantId).toBe(tid);
    expect(() => requirePermission(principal, 'write')).not.toThrow();
  });

  it('lets Read.All read but not write', () => {
    const principal = principalFromClaims({ tid, roles: ['Synchronization.Read.All'] });
    expect(() => requirePermission(principal, 'read')).not.toThrow();
    expect(() => requirePermission(principal, 'write')).toThrow(ForbiddenError);
  });

  it('denies a token without any synchronization permission', () => {
    expect(() => requirePermission(principalFromClaims({ tid, scp: 'User.Read' }), 'read')).toThrow(ForbiddenError);
  });

  it.each([[{}], [{ tid: '' }], [{ tid: 'bad tenant/../x' }], [undefined]])('rejects claims without a usable tid: %j', (claims) => {
    expect(() => principalFromClaims(claims as Record<string, unknown> | undefined)).toThrow(UnauthenticatedError);
  });
});
