import { randomUUID } from 'node:crypto';
import { scheduleNameFor } from '../domain/ids.ts';
import { ENTRA_ESCROW_THRESHOLDS, type EscrowThresholds } from '../domain/escrow-policy.ts';
import type { SynchronizationError, SynchronizationQuarantine } from '../schemas/graph.ts';
import type { JobKey, StoredJob } from '../schemas/stored-job.ts';
import type { SyncTick } from '../schemas/sync-tick.ts';
import type { Clock } from '../ports/clock.ts';
import type { Assignments, DirectoryPage } from '../ports/directory-source.ts';
import { assignmentDigest } from '../domain/assignment-scope.ts';
import { watermarkRenewalDue } from '../domain/idle-rounds.ts';
import { reconcileWanted } from '../domain/job-settings.ts';
import type { AssignmentStore } from '../ports/assignment-store.ts';
import type { ReferenceStore } from '../ports/reference-store.ts';
import type { CreateIntentStore } from '../ports/create-intents.ts';
import type { EscrowStore } from '../ports/escrow-store.ts';
import type { JobRunStore } from '../ports/job-run-store.ts';
import type { ProvisioningLog } from '../ports/provisioning-log.ts';
import type { JobSchedules } from '../ports/job-schedules.ts';
import type { JobStore } from '../ports/job-store.ts';
import type { LinkStore, MembershipStore } from '../ports/link-store.ts';
import type { SyncTrigger } from '../ports/sync-trigger.ts';
import { QuarantineError, type Connection } from './connection.ts';
import { jobRef, subscriptionsDue, type KeepSubscriptions } from './change-notifications.ts';
import { scheduleSpecOf } from './job-commands.ts';
import { keyOf, LeasedRun, settle } from './sync/leased-run.ts';
import { makePageApplier } from './sync/page-applier.ts';

export { QuarantineError, type Connection };

/** What a run tells the outside about itself (logs and metrics; never a secret). */
export interface RunObserver {
  quarantined?(job: StoredJob, error: SynchronizationError, reason: SynchronizationQuarantine['reason']): void;
  /** The target refused objects in a cycle that just ended (count and the first refusal). */
  refused?(job: StoredJob, count: number, sample: string): void;
  /** The run stopped early (throttled, an outage, a fault of ours); the next run carries on. */
  interrupted?(job: StoredJob, error: SynchronizationError): void;
  /** A continuation could not be triggered (the run itself is saved; the next tick picks it up). */
  triggerFailed?(key: JobKey, error: unknown): void;
  /** Provisioning records could not be written (the run goes on: the logs never hold provisioning back). */
  logWriteFailed?(key: JobKey, count: number, error: unknown): void;
  /** Change subscriptions could not be set up or renewed (the job still runs on its schedule). */
  subscriptionsFailed?(key: JobKey, error: unknown): void;
}

export interface SyncRunDeps {
  jobs: JobStore;
  runs: JobRunStore;
  links: LinkStore;
  memberships: MembershipStore;
  escrows: EscrowStore;
  intents: CreateIntentStore;
  assignments: AssignmentStore;
  references: ReferenceStore;
  schedules: JobSchedules;
  trigger: SyncTrigger;
  provisioningLog: ProvisioningLog;
  /** Builds source and target for a job from its secrets; throws QuarantineError when it cannot. */
  connect(job: StoredJob): Promise<Connection>;
  clock: Clock;
  /** Concurrent target requests per job. */
  concurrency: number;
  /** Stop taking new work when less than this is left of the invocation. */
  safetyMarginMs?: number;
  escrowThresholds?: EscrowThresholds;
  observer?: RunObserver;
  /** Keeps the source's change subscriptions (absent: the job runs on its schedule alone). */
  keepSubscriptions?: KeepSubscriptions;
  /**
   * How long a run woken by a change waits, holding the lease, before it reads (and a run asked to go on, before
   * its next round); default none. Changes come in bursts (a bulk edit, a group's members): the notifications of
   * the rest of the burst then only ask the waiting run to go on, instead of each starting a round.
   */
  notificationSettleMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Takes a job off the list of those a source's notifications wake. */
  forgetSubscriber?: (tenantId: string, sourceKey: string, job: string) => Promise<void>;
}

export type RunOutcome =
  | 'unknownJob'
  | 'inactive'
  | 'quarantineBackoff'
  | 'throttled'
  | 'busy'
  | 'quarantined'
  | 'failed'
  | 'steadyState'
  | 'paused'
  | 'outOfTime'
  | 'leaseLost';

/** What the idle-round peek read, handed to the leased run so that it is not read twice. */
export interface Peeked {
  connection: Connection;
  page: DirectoryPage;
  assignments?: Assignments;
}

/** A lease outlives its last renewal by at most this (plus a margin for clock skew). */
const LEASE_MS = 3 * 60_000;

export { keyOf };

/**
 * One run of one job: read the job, admit the tick, record an idle round cheaply when there is nothing to do, else
 * take the lease and, page by page, read changes at the watermark, apply them (plan, target, links) and commit.
 * A full round ends with a sweep of what it did not see. A crash anywhere redoes at most the unfinished page.
 */
export function makeSyncRun(deps: SyncRunDeps) {
  const { jobs, runs, schedules, clock } = deps;
  const safetyMarginMs = deps.safetyMarginMs ?? 30_000;
  const thresholds = deps.escrowThresholds ?? ENTRA_ESCROW_THRESHOLDS;
  const applier = makePageApplier(deps);
  const now = () => clock.now().toISOString();

  /** Strongly consistent unless a plain tick (a stale read of a tick is harmless: the next one catches up). */
  async function readJob(tick: SyncTick): Promise<StoredJob | null> {
    const key: JobKey = { tenantId: tick.tenantId, servicePrincipalId: tick.servicePrincipalId, jobId: tick.jobId };
    const job = await jobs.get(key, { consistent: tick.trigger !== 'schedule' });
    // Before a schedule is repaired (removed or disabled), make sure: a stale read may not show yet a job created or
    // started a moment ago.
    if (tick.trigger === 'schedule' && (!job || job.schedule.state !== 'Active')) return jobs.get(key, { consistent: true });
    return job;
  }

  /** Whether the tick should do anything; repairs a stray schedule on the way. */
  async function admit(job: StoredJob | null, tick: SyncTick): Promise<RunOutcome | null> {
    if (!job) {
      await schedules.remove(scheduleNameFor(tick.tenantId, tick.jobId));
      return 'unknownJob';
    }
    if (job.schedule.state !== 'Active') {
      if (tick.trigger === 'schedule') {
        if (job.schedule.state === 'Paused') await schedules.put(scheduleSpecOf(job));
        else await schedules.remove(job.scheduleName);
      }
      return 'inactive';
    }
    const at = now();
    if (tick.trigger !== 'start' && job.status.quarantine && at < job.status.quarantine.nextAttempt) return 'quarantineBackoff';
    if (tick.trigger !== 'start' && job.run.notBefore && at < job.run.notBefore) return 'throttled';
    return null;
  }

  /**
   * Most ticks find nothing new. For a job at rest (no cycle, rerun or quarantine pending, no escrow due, no live
   * lease) the first page is read without the lease; if it is an empty end of round, the round is recorded with one
   * write of the small idle rounds item (the job item is not written). Otherwise the page and connection go on to
   * the leased run.
   */
  async function peekIdleRound(job: StoredJob, tick: SyncTick): Promise<'recorded' | 'busy' | Peeked | null> {
    const at = now();
    // A user's start retries every escrow at once; otherwise an escrow not yet due leaves the job at rest.
    const escrowsAtRest = !job.run.escrowsPending || (tick.trigger !== 'start' && job.run.escrowsDueAt !== null && job.run.escrowsDueAt > at);
    const atRest =
      job.run.watermark !== null &&
      job.run.cycle === null &&
      escrowsAtRest &&
      !job.run.rerunRequested &&
      !job.run.forceDeletes &&
      !reconcileWanted(job, at) &&
      job.status.quarantine === null &&
      (job.run.leaseOwner === null || (job.run.leaseUntil ?? '') < at);
    if (!atRest) return null;
    let connection: Connection;
    try {
      connection = await deps.connect(job);
    } catch {
      return null; // the leased run reports (or quarantines) whatever went wrong
    }
    let page: DirectoryPage;
    let assignments: Assignments | undefined;
    try {
      if (connection.targetIdentity !== job.run.targetIdentity) throw new Error('target changed');
      page = await connection.source.readPage(job.run.watermark);
      if (connection.assignmentScope) assignments = await connection.source.readAssignments(job.servicePrincipalId);
    } catch {
      await connection.close();
      return null;
    }
    const assignmentsChanged = assignments !== undefined && assignmentDigest(assignments) !== job.run.assignmentDigest;
    if (page.objects.length > 0 || !page.roundComplete || assignmentsChanged) return { connection, page, ...(assignments ? { assignments } : {}) };
    await connection.close();
    const round = { activityIdentifier: randomUUID(), at };
    const recorded = watermarkRenewalDue(job, at)
      ? await runs.renewWatermark(job, { ...round, watermark: page.watermark })
      : await runs.recordIdleRound(job, round);
    return recorded ? 'recorded' : 'busy';
  }

  /** Sets up or renews the source's change subscriptions when due; never fails the run. */
  async function keepSubscriptions(job: StoredJob, renewAll: boolean): Promise<void> {
    if (!deps.keepSubscriptions) return;
    try {
      await deps.keepSubscriptions(job, () => deps.connect(job), { renewAll });
    } catch (error) {
      deps.observer?.subscriptionsFailed?.(keyOf(job), error);
    }
  }

  return async function run(tick: SyncTick, remainingMs: () => number): Promise<RunOutcome> {
    let admitted: StoredJob | null = null;
    const outcome = await runTick(tick, remainingMs, (job) => {
      admitted = job;
    });
    const job = admitted as StoredJob | null;
    if (job && (tick.renewSubscriptions || subscriptionsDue(job, now()))) await keepSubscriptions(job, tick.renewSubscriptions === true);
    // A paused or deleted job no longer wants the source's notifications; the subscriptions expire unrenewed
    // once no job does.
    if ((outcome === 'inactive' || outcome === 'unknownJob') && tick.trigger === 'notification' && tick.sourceKey) {
      await deps.forgetSubscriber?.(tick.tenantId, tick.sourceKey, jobRef({ servicePrincipalId: tick.servicePrincipalId, id: tick.jobId }));
    }
    return outcome;
  };

  async function runTick(tick: SyncTick, remainingMs: () => number, admitted: (job: StoredJob) => void): Promise<RunOutcome> {
    let job = await readJob(tick);
    const refused = await admit(job, tick);
    if (refused || !job) return refused ?? 'unknownJob';
    admitted(job);

    // A notified change is read by a leased run, so the changes that follow it while it settles join this run.
    let peeked = tick.trigger === 'notification' ? null : await peekIdleRound(job, tick);
    if (peeked === 'recorded') return 'steadyState';
    const owner = randomUUID();
    const leaseUntil = () => new Date(clock.now().getTime() + Math.min(remainingMs(), LEASE_MS) + 30_000).toISOString();
    let leased = peeked === 'busy' ? null : await runs.acquireLease(job, owner, leaseUntil(), now());
    if (!leased && tick.trigger === 'schedule') {
      // The read may have been stale: look again before giving the tick up.
      const fresh = await jobs.get(keyOf(job), { consistent: true });
      if (fresh && fresh.version !== job.version && (await admit(fresh, tick)) === null) {
        if (peeked !== null && peeked !== 'busy') await peeked.connection.close();
        peeked = null;
        job = fresh;
        leased = await runs.acquireLease(job, owner, leaseUntil(), now());
      }
    }
    if (!leased) {
      if (peeked !== null && peeked !== 'busy') await peeked.connection.close();
      // A change was reported while another run holds the job: that run goes on to a fresh steady state. If it
      // ended meanwhile, this change gets a run of its own.
      if (tick.trigger === 'notification' && !(await runs.requestRerun(job, now()))) await deps.trigger.trigger({ ...tick, renewSubscriptions: false });
      return 'busy';
    }
    if (tick.trigger === 'notification') await settle(deps);
    const session = new LeasedRun(deps, applier, thresholds, leased, owner, tick, remainingMs, safetyMarginMs, leaseUntil);
    // The lease was granted over one never released: its holder died, or overran it, somewhere in its work.
    return session.execute(peeked !== null && peeked !== 'busy' ? peeked : null, job.run.leaseOwner !== null);
  }
}

export type SyncRun = ReturnType<typeof makeSyncRun>;
