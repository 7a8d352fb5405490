/** One synchronizationSecretKeyStringValuePair. */
export interface SecretPair {
  key: string;
  value: string;
}

/** Encrypts small secrets; bound to a context (tenant and service principal) so a blob cannot be moved. */
export interface SecretCipher {
  encrypt(plaintext: string, context: Record<string, string>): Promise<string>;
  decrypt(ciphertext: string, context: Record<string, string>): Promise<string>;
}

/** Write-only credentials of a service principal's synchronization (target and optional source). */
export interface SecretsVault {
  /** Replaces all secrets of the service principal. */
  put(tenantId: string, servicePrincipalId: string, secrets: SecretPair[]): Promise<void>;
  /** Which keys are set, without decrypting anything (for validation at start). */
  keys(tenantId: string, servicePrincipalId: string): Promise<string[]>;
  /** The decrypted secrets, for the sync worker only. */
  read(tenantId: string, servicePrincipalId: string): Promise<SecretPair[]>;
  remove(tenantId: string, servicePrincipalId: string): Promise<void>;
}
