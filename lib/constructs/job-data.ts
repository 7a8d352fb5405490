import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Attribute DynamoDB's TTL deletes by: run-history items carry an epoch-seconds expiry in it. */
export const ttlAttribute = 'expiresAt';

/**
 * The one table of jobs, their run state and their history (`pk`/`sk`, on demand). It outlives the stack: deletion
 * protection, point-in-time recovery and RETAIN guard the only copy of every job's watermark and settings.
 *
 * Encryption at rest uses the AWS managed key (`aws/dynamodb`): every use is in CloudTrail and there is no key to
 * administer or pay for per month. The sensitive values (target credentials) do not rely on it: the functions encrypt
 * them with the service's own KMS key, bound to tenant and service principal, before they reach the table.
 */
export class JobData extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Reads items (GetItem, Query, Scan, BatchGetItem, ConditionCheckItem, DescribeTable). */
  grantRead(grantee: iam.IGrantable): void {
    this.table.grantReadData(grantee);
  }

  /** Writes items (PutItem, UpdateItem, DeleteItem, BatchWriteItem, DescribeTable) without reading them. */
  grantWrite(grantee: iam.IGrantable): void {
    this.table.grantWriteData(grantee);
  }

  grantReadWrite(grantee: iam.IGrantable): void {
    this.table.grantReadWriteData(grantee);
  }
}
