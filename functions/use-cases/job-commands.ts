import { randomBytes } from 'node:crypto';
import {
  InvalidIntervalError,
  InvalidResetScopeError,
  JobCannotStartError,
  JobNotFoundError,
  UnknownTemplateError,
  UnusableSchemaError,
} from '../domain/job-errors.ts';
import { purgeScheduleNameFor } from '../domain/ids.ts';
import { parseIntervalMinutes } from '../domain/interval.ts';
import {
  DEFAULT_INTERVAL_MINUTES,
  changeInterval,
  changeSettings,
  changeSchema,
  createJob,
  pauseJob,
  restartJob,
  startJob,
} from '../domain/job-lifecycle.ts';
import { parseResetScope } from '../domain/reset-scope.ts';
import { REQUIRED_TARGET_KEYS } from '../domain/secret-keys.ts';
import { checkSchema } from '../domain/mapping/schema-validation.ts';
import { hasUnstatedFlags, withStatedFlags, type SynchronizationSchema } from '../domain/mapping/schema.ts';
import type { SchemaStore } from '../ports/schema-store.ts';
import { findTemplate } from '../domain/templates.ts';
import type { Clock } from '../ports/clock.ts';
import type { JobScheduleSpec, JobSchedules } from '../ports/job-schedules.ts';
import { JobVersionConflictError, type JobPage, type JobStore } from '../ports/job-store.ts';
import type { JobLimits, JobQuota } from '../ports/job-quota.ts';
import type { SecretsVault } from '../ports/secrets-vault.ts';
import type { SyncTrigger } from '../ports/sync-trigger.ts';
import type { JobStatePurge } from '../ports/job-state-purge.ts';
import type { PurgeSchedules } from '../ports/purge-schedules.ts';
import type { CreateJobBody } from '../schemas/requests.ts';
import type { KeyValue } from '../schemas/graph.ts';
import type { JobKey, StoredJob } from '../schemas/stored-job.ts';
import { logger } from '../observability/logger.ts';

export interface JobCommandsDeps {
  jobs: JobStore;
  schedules: JobSchedules;
  trigger: SyncTrigger;
  secrets: SecretsVault;
  /** Records that a deleted job's state is to be removed; the worker removes it (use-cases/purge-job.ts). */
  purges: JobStatePurge;
  /** The schedule that drives that removal until it is done. */
  purgeSchedules: PurgeSchedules;
  schemas: SchemaStore;
  /** Counts jobs against `limits`, per service principal and per tenant. */
  quota: JobQuota;
  limits: JobLimits;
  clock: Clock;
  randomHex?: () => string;
}

/** Attempts at read-modify-write before a concurrent change is reported as 409. */
const MAX_ATTEMPTS = 4;
/** Put-and-recheck rounds that bring a schedule back in line with its job after concurrent commands. */
const MAX_RECONCILE_ROUNDS = 4;
/** How often a deleted job's purge schedule invokes the worker until the purge is done. */
const PURGE_RATE_MINUTES = 1;

export function scheduleSpecOf(job: StoredJob): JobScheduleSpec {
  return {
    name: job.scheduleName,
    rateMinutes: job.intervalMinutes,
    enabled: job.schedule.state === 'Active',
    tick: { tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id },
  };
}

/**
 * The job methods. The job item is the source of truth; the schedule is changed first, so a Scheduler failure
 * answers 503 with nothing changed, and a schedule left ahead of a failed job write is repaired by the worker's
 * first tick (a tick for a job that is not Active disables or removes its schedule).
 */
export function makeJobCommands(deps: JobCommandsDeps) {
  const { jobs, schedules, trigger, secrets, clock } = deps;
  const randomHex = deps.randomHex ?? (() => randomBytes(16).toString('hex'));
  const now = () => clock.now().toISOString();

  async function load(key: JobKey): Promise<StoredJob> {
    const job = await jobs.get(key);
    if (!job) throw new JobNotFoundError(key.jobId);
    return job;
  }

  /**
   * Brings the schedule in line with the job as stored now. Concurrent commands each put the schedule of the job
   * they read, so a put can land after a newer job write; every command that touched the schedule ends here, and
   * rechecks after its own put, so the last one to finish leaves the schedule matching the stored job.
   */
  async function reconcileSchedule(key: JobKey, scheduleName: string): Promise<void> {
    try {
      for (let round = 0; round < MAX_RECONCILE_ROUNDS; round += 1) {
        const job = await jobs.get(key);
        if (!job) {
          await schedules.remove(scheduleName);
          return;
        }
        const want = scheduleSpecOf(job);
        const have = await schedules.get(scheduleName);
        const matches =
          job.schedule.state === 'Disabled'
            ? !have?.enabled
            : have !== null && have.enabled === want.enabled && have.rateMinutes === want.rateMinutes;
        if (matches) return;
        await schedules.put(want);
      }
    } catch (error) {
      // The command's own outcome stands; the worker's next tick repairs a schedule left out of step.
      logger.warn('Schedule could not be reconciled with the job', { jobId: key.jobId, error: error as Error });
    }
  }

  /**
   * Read, change, sync the schedule, conditionally write; retried when another writer got there first. `read` is
   * the job as the command already loaded it (existence is checked before anything else), used for the first try.
   */
  async function mutate(
    key: JobKey,
    change: (job: StoredJob) => StoredJob,
    syncSchedule: ((before: StoredJob, after: StoredJob) => Promise<void>) | null,
    read: StoredJob | null = null,
  ): Promise<StoredJob> {
    let touchedSchedule: string | null = null;
    try {
      for (let attempt = 1; ; attempt += 1) {
        const job = attempt === 1 && read ? read : await load(key);
        const next = change(job);
        if (syncSchedule) {
          touchedSchedule = job.scheduleName;
          await syncSchedule(job, next);
        }
        try {
          return await jobs.replace(next);
        } catch (error) {
          if (!(error instanceof JobVersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
          // A run commits in bursts (a page, then its round's end): a short, random wait steps out of one.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * attempt));
        }
      }
    } finally {
      if (touchedSchedule) await reconcileSchedule(key, touchedSchedule);
    }
  }

  const putSchedule = async (_before: StoredJob, after: StoredJob) => schedules.put(scheduleSpecOf(after));

  async function runNow(job: StoredJob): Promise<void> {
    if (job.run.rerunRequested) return; // the run in progress goes on to a fresh steady state
    try {
      await trigger.trigger({
        tenantId: job.tenantId,
        servicePrincipalId: job.servicePrincipalId,
        jobId: job.id,
        trigger: 'start',
      });
    } catch (error) {
      // The schedule's next tick runs the job anyway; the start itself succeeded.
      logger.warn('Immediate run could not be triggered', { jobId: job.id, error: error as Error });
    }
  }

  async function requireTargetSecrets(key: JobKey): Promise<void> {
    const present = new Set(await secrets.keys(key.tenantId, key.servicePrincipalId));
    const missing = REQUIRED_TARGET_KEYS.filter((name) => !present.has(name));
    if (missing.length > 0) throw new JobCannotStartError(key.servicePrincipalId, missing);
  }

  return {
    async create(tenantId: string, servicePrincipalId: string, body: CreateJobBody): Promise<StoredJob> {
      const template = findTemplate(body.templateId);
      if (!template) throw new UnknownTemplateError(body.templateId);
      const interval = body.schedule ? parseIntervalMinutes(body.schedule.interval) : DEFAULT_INTERVAL_MINUTES;
      const job = createJob({
        tenantId,
        servicePrincipalId,
        template,
        intervalMinutes: interval ?? DEFAULT_INTERVAL_MINUTES,
        randomHex32: randomHex(),
        now: now(),
      });
      await deps.quota.reserve(tenantId, servicePrincipalId, deps.limits);
      try {
        await jobs.create(job);
      } catch (error) {
        await deps.quota.release(tenantId, servicePrincipalId);
        throw error;
      }
      return job;
    },

    get: load,

    list(tenantId: string, servicePrincipalId: string, limit: number, cursor: string | null): Promise<JobPage> {
      return jobs.list(tenantId, servicePrincipalId, limit, cursor);
    },

    async start(key: JobKey): Promise<void> {
      const read = await load(key);
      await requireTargetSecrets(key);
      const job = await mutate(key, (current) => startJob(current, now()), putSchedule, read);
      await runNow(job);
    },

    async restart(key: JobKey, resetScope: string | null | undefined): Promise<void> {
      const read = await load(key);
      const plan = parseResetScope(resetScope);
      if (!plan) throw new InvalidResetScopeError(resetScope);
      await requireTargetSecrets(key);
      const job = await mutate(key, (current) => restartJob(current, plan, resetScope ?? '', now()), putSchedule, read);
      await runNow(job);
    },

    async pause(key: JobKey): Promise<void> {
      await mutate(key, (current) => pauseJob(current, now()), putSchedule);
    },

    /** PATCH: a new interval, new job settings, or both. */
    async update(key: JobKey, change: { interval?: string; settings?: KeyValue[] }): Promise<void> {
      const read = await load(key);
      const minutes = change.interval === undefined ? null : parseIntervalMinutes(change.interval);
      if (change.interval !== undefined && minutes === null) throw new InvalidIntervalError(change.interval);
      await mutate(
        key,
        (current) => {
          const interval = minutes === null ? current : changeInterval(current, minutes, now());
          return change.settings ? changeSettings(interval, change.settings, now()) : interval;
        },
        async (_before, after) => {
          // A job that never started has no schedule yet; start creates it with the new interval.
          if (after.schedule.state !== 'Disabled') await schedules.put(scheduleSpecOf(after));
        },
        read,
      );
    },

    /**
     * Deletes the job and its schedule, and leaves its state (up to a million links, escrows, schemas) to the
     * worker: the purge's schedule and record are set up first, so a job is never gone without them. A Scheduler
     * outage answers 503 with nothing changed; a delete that fails later leaves a purge that finds the job still
     * there and cancels itself.
     */
    async delete(key: JobKey): Promise<void> {
      const read = await load(key);
      const purgeSchedule = purgeScheduleNameFor(read.scheduleName);
      await deps.purgeSchedules.ensurePurge({
        name: purgeSchedule,
        rateMinutes: PURGE_RATE_MINUTES,
        event: { action: 'purgeJob', ...key, scheduleName: purgeSchedule },
      });
      await deps.purges.record({ key, deletedAt: now() });
      let scheduleName: string | null = null;
      try {
        for (let attempt = 1; ; attempt += 1) {
          const job = attempt === 1 ? read : await load(key);
          scheduleName = job.scheduleName;
          await schedules.remove(scheduleName);
          try {
            await jobs.delete(key, job.version);
            await deps.quota.release(key.tenantId, key.servicePrincipalId);
            break;
          } catch (error) {
            if (!(error instanceof JobVersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
          }
        }
      } finally {
        // A start that read the job before it was deleted may have put its schedule back; a delete that lost
        // to other writers must not leave an active job without its schedule.
        if (scheduleName) await reconcileSchedule(key, scheduleName);
      }
    },

    /** The schema in force: the job's customised one, else its template's. */
    async schema(key: JobKey): Promise<SynchronizationSchema> {
      return effectiveSchema(deps.schemas, await load(key));
    },

    /** Replaces the job's schema (Graph: the whole schema, version bumped); the next run is a new initial cycle. */
    async putSchema(key: JobKey, proposed: SynchronizationSchema): Promise<void> {
      const job = await load(key);
      const stated = hasUnstatedFlags(proposed) ? withStatedFlags(proposed, await effectiveSchema(deps.schemas, job)) : proposed;
      const checked = checkSchema(stated);
      if ('problems' in checked) throw new UnusableSchemaError(checked.problems);
      const version = (job.schemaVersion ?? Number(findTemplate(job.templateId)?.schema.version ?? 1)) + 1;
      await deps.schemas.put(key, version, { ...checked.schema, version: String(version) });
      await mutate(key, (current) => changeSchema(current, version, now()), null);
      await deps.schemas.removeOthers(key, version);
    },

    /** Back to the template's schema; the next run is a new initial cycle. */
    async resetSchema(key: JobKey): Promise<void> {
      await mutate(key, (current) => changeSchema(current, null, now()), null);
      await deps.schemas.removeOthers(key, null);
    },
  };
}

export type JobCommands = ReturnType<typeof makeJobCommands>;

/** The schema a job runs with: its customised version when it has one, else its template's. */
export async function effectiveSchema(schemas: SchemaStore, job: StoredJob): Promise<SynchronizationSchema> {
  const key = { tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id };
  const custom = job.schemaVersion === null ? null : await schemas.get(key, job.schemaVersion);
  const template = findTemplate(job.templateId)?.schema;
  if (custom) return custom;
  if (!template) throw new Error(`Job ${job.id} has no schema: template ${job.templateId} is unknown`);
  return template;
}
