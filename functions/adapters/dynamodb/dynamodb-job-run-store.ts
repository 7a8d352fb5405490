import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { withIdleRounds } from '../../domain/idle-rounds.ts';
import type { IdleRound, JobRunStore, RunCommit } from '../../ports/job-run-store.ts';
import { type IdleRounds, type JobKey, type StoredJob, type RunState } from '../../schemas/stored-job.ts';
import { jobFromItem, statusItem } from './job-item.ts';
import { isConditionFailure, keys } from './table-keys.ts';

function keyOf(job: StoredJob): JobKey {
  return { tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id };
}

/** A job nobody runs: no lease, or one that has run out. */
const LEASE_FREE = '(attribute_type(#run.leaseOwner, :null) OR #run.leaseUntil < :now)';

/**
 * One conditional UpdateItem of `run.*` and `status.*` fields that also bumps the version (so API writes based on
 * an older read fail their condition). DynamoDB refuses names an expression does not use, so each is added with
 * the field that needs it.
 */
function updateOf(
  run: Partial<Record<keyof RunState, unknown>>,
  status: Partial<Record<string, unknown>>,
  condition: string,
  conditionValues: Record<string, unknown>,
  bumpVersion = true,
) {
  const names: Record<string, string> = { '#run': 'run', ...(bumpVersion ? { '#version': 'version' } : {}) };
  const values: Record<string, unknown> = { ...(bumpVersion ? { ':one': 1 } : {}), ...conditionValues };
  const sets = bumpVersion ? ['#version = #version + :one'] : [];
  const add = (parent: 'run' | 'status', field: string, value: unknown) => {
    const index = sets.length;
    names[`#${parent}`] = parent;
    names[`#f${index}`] = field;
    values[`:v${index}`] = value;
    sets.push(`#${parent}.#f${index} = :v${index}`);
  };
  for (const [field, value] of Object.entries(run)) if (value !== undefined) add('run', field, value);
  for (const [field, value] of Object.entries(statusItem(status))) if (value !== undefined) add('status', field, value);
  if (condition.includes(':null')) values[':null'] = 'NULL';
  return { UpdateExpression: `SET ${sets.join(', ')}`, ConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
}

/** UpdateItem on nested paths: the worker writes only run and status fields, never the API's. */
export class DynamoDbJobRunStore implements JobRunStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * `job` as read, idle rounds included: their watermark and status are written into the job item with the lease
   * (on the version they were recorded on), and the version bump voids them.
   */
  acquireLease(job: StoredJob, owner: string, leaseUntil: string, now: string): Promise<StoredJob | null> {
    return this.update(
      keyOf(job),
      updateOf(
        { leaseOwner: owner, leaseUntil, rerunRequested: false, watermark: job.run.watermark },
        job.status,
        `#version = :version AND ${LEASE_FREE}`,
        { ':version': job.version, ':now': now },
      ),
    );
  }

  commit(key: JobKey, owner: string, epoch: number, commit: RunCommit): Promise<StoredJob | null> {
    const run = commit.release ? { ...commit.run, leaseOwner: null, leaseUntil: null } : commit.run;
    return this.update(
      key,
      updateOf(run, commit.status ?? {}, '#run.leaseOwner = :owner AND #run.epoch = :epoch', { ':owner': owner, ':epoch': epoch }),
    );
  }

  /**
   * One PutItem of the small idle rounds item (about 250 bytes: one write unit), never the job item. Conditional
   * only on not going back in time over rounds recorded on the same version: a round recorded on a version that is
   * no longer the job's (a lease taken, an API write since the read) is void, so the job item's condition is not
   * needed.
   */
  async recordIdleRound(job: StoredJob, round: IdleRound): Promise<StoredJob | null> {
    const idle: IdleRounds = { basis: job.version, ...round };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: keys.servicePrincipal(job.tenantId, job.servicePrincipalId), sk: keys.idleRounds(job.id), ...idle },
          ConditionExpression: 'attribute_not_exists(pk) OR basis <> :basis OR #at <= :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':basis': idle.basis, ':at': idle.at },
        }),
      );
      return withIdleRounds(job, idle);
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  renewWatermark(job: StoredJob, round: IdleRound & { watermark: string }): Promise<StoredJob | null> {
    const idle = withIdleRounds(job, { basis: job.version, activityIdentifier: round.activityIdentifier, at: round.at });
    return this.update(
      keyOf(job),
      updateOf(
        { watermark: round.watermark, watermarkAt: round.at },
        idle.status,
        `#version = :version AND ${LEASE_FREE}`,
        { ':version': job.version, ':now': round.at },
      ),
    );
  }

  /**
   * Frees a lease whose holder is known to be gone (the local stack's previous process), so that the job need not
   * wait for it to expire: conditional on that owner still holding it. A run resumes from its last commit as after
   * an expiry. null when the lease had changed hands meanwhile.
   */
  releaseLease(key: JobKey, owner: string): Promise<StoredJob | null> {
    // The dead run may have written links it never committed: the entry counts are counted again (ADD, see markCountsDirty).
    const release = updateOf({ leaseOwner: null, leaseUntil: null }, {}, '#run.leaseOwner = :owner', { ':owner': owner });
    return this.update(key, { ...release, UpdateExpression: `${release.UpdateExpression} ADD #run.countsDirty :one` });
  }

  async markCountsDirty(key: JobKey): Promise<void> {
    // ADD, not SET: two marks racing both count, and none can undo a count that covered neither.
    await this.update(key, {
      UpdateExpression: 'ADD #run.countsDirty :one, #version :one',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#run': 'run', '#version': 'version' },
      ExpressionAttributeValues: { ':one': 1 },
    });
  }

  async requestRerun(job: StoredJob, now: string): Promise<boolean> {
    const live = job.run.leaseOwner !== null && (job.run.leaseUntil ?? '') > now;
    if (live && job.run.rerunRequested) return true;
    const written = await this.update(
      keyOf(job),
      updateOf({ rerunRequested: true }, {}, `NOT ${LEASE_FREE}`, { ':now': now }),
    );
    return written !== null;
  }

  /**
   * Without a version bump, so that API commands racing a run do not fail for it: one that overwrites this with an
   * older read only makes the next tick look at the subscriptions again.
   */
  async noteNotifications(job: StoredJob, notifications: NonNullable<RunState['notifications']>): Promise<void> {
    await this.update(keyOf(job), updateOf({ notifications }, {}, 'attribute_exists(pk)', {}, false));
  }

  /** The job as stored after the write, or null when the condition no longer held. */
  private async update(key: JobKey, expression: ReturnType<typeof updateOf>): Promise<StoredJob | null> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.servicePrincipal(key.tenantId, key.servicePrincipalId), sk: keys.job(key.jobId) },
          ...expression,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return jobFromItem(Attributes ?? {});
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }
}
