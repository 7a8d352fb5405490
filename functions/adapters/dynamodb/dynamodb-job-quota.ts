import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { JobQuotaExceededError, type JobLimits, type JobQuota, type QuotaScope } from '../../ports/job-quota.ts';
import { isConditionFailure, keys } from './table-keys.ts';

/**
 * One counter item per scope: `QUOTA` in the service principal's partition and in the tenant's own `T#<tid>`
 * partition. A reservation is a conditional increment of each; the tenant's is taken back when the service
 * principal's is refused. (A crash between the two steps of a creation can leave a count one too high.)
 */
export class DynamoDbJobQuota implements JobQuota {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async reserve(tenantId: string, servicePrincipalId: string, limits: JobLimits): Promise<void> {
    await this.increment(keys.tenant(tenantId), 'tenant', limits.perTenant);
    try {
      await this.increment(keys.servicePrincipal(tenantId, servicePrincipalId), 'servicePrincipal', limits.perServicePrincipal);
    } catch (error) {
      await this.decrement(keys.tenant(tenantId));
      throw error;
    }
  }

  async release(tenantId: string, servicePrincipalId: string): Promise<void> {
    await this.decrement(keys.servicePrincipal(tenantId, servicePrincipalId));
    await this.decrement(keys.tenant(tenantId));
  }

  private async increment(pk: string, scope: QuotaScope, limit: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: keys.quota },
          UpdateExpression: 'ADD jobs :one',
          ConditionExpression: 'attribute_not_exists(jobs) OR jobs < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limit },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new JobQuotaExceededError(scope, limit);
      throw error;
    }
  }

  /** Never below zero: counts from before quotas were kept start at zero. */
  private async decrement(pk: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk, sk: keys.quota },
          UpdateExpression: 'ADD jobs :minusOne',
          ConditionExpression: 'jobs > :zero',
          ExpressionAttributeValues: { ':minusOne': -1, ':zero': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
