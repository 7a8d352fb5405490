import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * The customer managed KMS key that encrypts every tenant's target credentials (BaseAddress, SecretToken) before they
 * are stored. Only the secrets route may encrypt and only the sync worker may decrypt. Retained on stack deletion:
 * without it the stored credentials can never be read again.
 */
export class SecretsKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Encrypts the SCIM target credentials of Graph synchronization jobs',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** `kms:Encrypt` only: the secrets route stores credentials and never needs them back. */
  grantEncrypt(grantee: iam.IGrantable): void {
    this.key.grant(grantee, 'kms:Encrypt');
  }

  /** `kms:Decrypt` only: the sync worker reads credentials and never writes them. */
  grantDecrypt(grantee: iam.IGrantable): void {
    this.key.grant(grantee, 'kms:Decrypt');
  }
}
