import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod/mini';
import type { SecretCipher, SecretPair, SecretsVault } from '../../ports/secrets-vault.ts';
import { keys } from './table-keys.ts';

const secretPairsSchema = z.array(z.object({ key: z.string(), value: z.string() }));

/**
 * One item per service principal: the key names in clear (so start can check them without decrypting) and the
 * pairs as one ciphertext bound to tenant and service principal.
 */
export class DynamoDbSecretsVault implements SecretsVault {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly cipher: SecretCipher,
  ) {}

  private itemKey(tenantId: string, servicePrincipalId: string) {
    return { pk: keys.servicePrincipal(tenantId, servicePrincipalId), sk: keys.secrets };
  }

  async put(tenantId: string, servicePrincipalId: string, secrets: SecretPair[]): Promise<void> {
    const ciphertext = await this.cipher.encrypt(JSON.stringify(secrets), { tenantId, servicePrincipalId });
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...this.itemKey(tenantId, servicePrincipalId), keys: secrets.map((pair) => pair.key), ciphertext },
      }),
    );
  }

  async keys(tenantId: string, servicePrincipalId: string): Promise<string[]> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.itemKey(tenantId, servicePrincipalId),
        ProjectionExpression: '#keys',
        ExpressionAttributeNames: { '#keys': 'keys' },
      }),
    );
    return z.array(z.string()).parse(Item?.keys ?? []);
  }

  async read(tenantId: string, servicePrincipalId: string): Promise<SecretPair[]> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.itemKey(tenantId, servicePrincipalId) }),
    );
    if (!Item) return [];
    const plaintext = await this.cipher.decrypt(String(Item.ciphertext), { tenantId, servicePrincipalId });
    return secretPairsSchema.parse(JSON.parse(plaintext));
  }

  async remove(tenantId: string, servicePrincipalId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: this.itemKey(tenantId, servicePrincipalId) }),
    );
  }
}
