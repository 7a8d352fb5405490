import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { KmsSecretCipher } from '../../functions/adapters/crypto/kms-secret-cipher.ts';

const kms = mockClient(KMSClient);
const context = { tenantId: 't1', servicePrincipalId: 'sp1' };

describe('KmsSecretCipher', () => {
  beforeEach(() => kms.reset());

  it('encrypts with the deployment key and binds the ciphertext to tenant and service principal', async () => {
    kms.on(EncryptCommand).resolves({ CiphertextBlob: Buffer.from('sealed') });
    const sealed = await new KmsSecretCipher(new KMSClient({}), 'alias/graph-sync').encrypt('s3cr3t', context);
    expect(sealed).toBe(Buffer.from('sealed').toString('base64'));
    const input = kms.commandCalls(EncryptCommand)[0]!.args[0].input;
    expect(input.KeyId).toBe('alias/graph-sync');
    expect(input.EncryptionContext).toEqual(context);
    expect(Buffer.from(input.Plaintext as Uint8Array).toString('utf8')).toBe('s3cr3t');
  });

  it('decrypts with the same encryption context, so a blob moved to another tenant fails in KMS', async () => {
    kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from('s3cr3t') });
    const cipher = new KmsSecretCipher(new KMSClient({}), 'alias/graph-sync');
    expect(await cipher.decrypt(Buffer.from('sealed').toString('base64'), context)).toBe('s3cr3t');
    const input = kms.commandCalls(DecryptCommand)[0]!.args[0].input;
    expect(input.EncryptionContext).toEqual(context);
    expect(Buffer.from(input.CiphertextBlob as Uint8Array).toString('utf8')).toBe('sealed');
  });

  it('refuses an answer without ciphertext or plaintext instead of storing or returning nothing', async () => {
    kms.on(EncryptCommand).resolves({});
    kms.on(DecryptCommand).resolves({});
    const cipher = new KmsSecretCipher(new KMSClient({}), 'k');
    await expect(cipher.encrypt('x', context)).rejects.toThrow(/no ciphertext/);
    await expect(cipher.decrypt('eA==', context)).rejects.toThrow(/no plaintext/);
  });
});
