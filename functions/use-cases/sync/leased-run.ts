import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { escrowQuarantine, type EscrowThresholds } from '../../domain/escrow-policy.ts';
import { beganReading, countApplied, countImported, newCycle, type AppliedCounts } from '../../domain/run-cycle.ts';
import { statusAfter, type RunEvent } from '../../domain/run-status.ts';
import type { SynchronizationError, SynchronizationQuarantine } from '../../schemas/graph.ts';
import type { Cycle, JobKey, StoredJob } from '../../schemas/stored-job.ts';
import type { SyncTick } from '../../schemas/sync-tick.ts';
import type { ProvisioningObjectSummary } from '../../schemas/provisioning-log.ts';
import { ResyncRequiredError, type Assignments, type DirectoryObject, type DirectoryPage } from '../../ports/directory-source.ts';
import type { RunCommit } from '../../ports/job-run-store.ts';
import type { LinkScope } from '../../ports/link-store.ts';
import { QuarantineError, type Connection } from '../connection.ts';
import type { Peeked, RunOutcome, SyncRunDeps } from '../sync-run.ts';
import { AssignmentScope, assignmentDigest } from '../../domain/assignment-scope.ts';
import { applyAssignmentChanges } from './assignment-changes.ts';
import { TargetMatcher } from '../target-matcher.ts';
import { resolveCreateIntents } from './create-intents.ts';
import { retryEscrows } from './escrow-retry.ts';
import type { ApplyOptions, BatchApplied, ObjectOutcome, PageApplier } from './page-applier.ts';
import type { Initiator } from '../../domain/provisioning-records.ts';
import { logOutcomes } from '../log-outcomes.ts';
import { sweepStep } from './round-sweep.ts';
import { reconcileStep } from './target-reconcile.ts';
import { reconcileWanted } from '../../domain/job-settings.ts';
import { EscrowThresholdError, outcomeOf, TooManyDeletesError } from './run-outcomes.ts';

export function keyOf(job: StoredJob): JobKey {
  return { tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id };
}

export function linkScopeOf(job: StoredJob): LinkScope {
  return { tenantId: job.tenantId, jobId: job.id, generation: job.run.linkGeneration };
}

export function escrowScopeOf(job: StoredJob): LinkScope {
  return { tenantId: job.tenantId, jobId: job.id, generation: job.run.escrowGeneration };
}

/** Who the provisioning logs say made the repairs of a read-back of the target. */
const READ_BACK: Initiator = { id: '', displayName: 'Target read-back (reconcile)', initiatorType: 'system' };

/** Who the provisioning logs say started a run's changes. */
function initiatorOf(trigger: SyncTick['trigger']): Initiator {
  if (trigger === 'start') return { id: '', displayName: 'Start (sync now)', initiatorType: 'user' };
  return { id: '', displayName: trigger === 'schedule' ? 'Schedule' : 'Continuation of a run', initiatorType: 'system' };
}

export function earliest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a < b ? a : b;
}


/** A run holding the job's lease: every write is conditional on it and on the epoch the run began with. */
export class LeasedRun {
  private cycle: Cycle;
  private connection!: Connection;
  private matcher!: TargetMatcher;
  private unread: DirectoryPage | null = null;
  /** Run fields the next commit carries whatever it writes (a throttling wait that this run has outlived). */
  private carried: RunCommit['run'] = {};
  /** Who is assigned, read once per run (`SyncAll` false); undefined when everything is in scope. */
  private assignments: AssignmentScope | undefined;

  constructor(
    private readonly deps: SyncRunDeps,
    private readonly applier: PageApplier,
    private readonly thresholds: EscrowThresholds,
    private job: StoredJob,
    private readonly owner: string,
    private readonly tick: SyncTick,
    private readonly remainingMs: () => number,
    private readonly safetyMarginMs: number,
    private readonly leaseUntil: () => string,
  ) {
    this.cycle = job.run.cycle ?? newCycle(randomUUID(), this.now(), job.run.watermark === null);
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  private hasTime = (): boolean => this.remainingMs() >= this.safetyMarginMs;

  /** Applies a batch, then writes its provisioning records. */
  private apply: PageApplier = async (objects, options) => {
    const applied = await this.applier(objects, options);
    const records = await this.log(objects, applied.outcomes);
    // The status's first refusal names its record, so the failing request is one query away.
    const failure = records.find((record) => record.provisioningStatusInfo.status === 'failure');
    return failure && applied.escrowSample ? { ...applied, escrowSample: `${applied.escrowSample} (provisioning log changeId ${failure.changeId})` } : applied;
  };

  /** One record per object change; a failure to write them does not stop the run. */
  private log(objects: readonly DirectoryObject[], outcomes: readonly ObjectOutcome[]): Promise<ProvisioningObjectSummary[]> {
    const initiatedBy = this.cycle.reconcile ? READ_BACK : initiatorOf(this.tick.trigger);
    const input = { key: keyOf(this.job), cycleId: this.cycle.activityIdentifier, initiatedBy, at: this.now(), objects, outcomes };
    return logOutcomes(this.deps.provisioningLog, input, (count, error) => this.deps.observer?.logWriteFailed?.(keyOf(this.job), count, error));
  }

  /**
   * `takenOver`: the lease was another run's that never released it; that run may have died between writing links
   * and committing their counts, so the counts are to be counted again at the round's end.
   */
  async execute(peeked: Peeked | null, takenOver = false): Promise<RunOutcome> {
    if (takenOver) this.carried = { ...this.carried, ...this.countsMayBeOff() };
    try {
      this.connection = peeked?.connection ?? (await this.deps.connect(this.job));
    } catch (error) {
      if (!(error instanceof QuarantineError)) return this.fail(error);
      return this.quarantine({ code: error.code, message: error.message, tenantActionable: true }, 'EncounteredQuarantineException');
    }
    this.matcher = new TargetMatcher(this.connection.target);
    if (this.job.run.notBefore !== null) this.carried = { ...this.carried, notBefore: null };
    // The page read before the lease is valid: the lease was granted on the very version it was read from.
    this.unread = peeked?.page ?? null;
    try {
      if ((await this.followTarget()) === 'leaseLost') return 'leaseLost';
      const assigned = await this.followAssignments(peeked?.assignments);
      if (assigned !== 'continue') return assigned === 'leaseLost' ? 'leaseLost' : await this.stopForTime();
      await resolveCreateIntents({
        ...this.deps,
        source: this.connection.source,
        target: this.connection.target,
        scope: linkScopeOf(this.job),
        hasTime: this.hasTime,
        applyPresent: async (objects) => {
          const applied = await this.apply(objects, this.applyOptions({ readMembersOnCreate: true, stampAll: false }));
          this.carried = { ...this.carried, ...this.absorb(applied) };
          return applied.outcomes;
        },
      });
      if ((await this.retryEscrows()) === 'leaseLost') return 'leaseLost';
      for (;;) {
        if (!this.hasTime()) return await this.stopForTime();
        const step = this.cycle.sweep ? await this.sweep() : this.cycle.reconcile ? await this.reconcile() : await this.readAndApplyPage();
        if (step === 'leaseLost') return 'leaseLost';
        if (step === 'roundComplete') {
          const next = await this.finishRound();
          if (next !== 'nextRound') return next;
        }
        if (this.job.schedule.state !== 'Active') {
          await this.commit({ run: {}, release: true });
          return 'paused';
        }
      }
    } catch (error) {
      // Awaited here, so a rejection is not left unhandled while the connection closes.
      return await this.fail(error);
    } finally {
      await this.connection.close();
    }
  }

  private applyOptions(overrides: Partial<ApplyOptions> = {}): ApplyOptions {
    return {
      scope: { links: linkScopeOf(this.job), escrows: escrowScopeOf(this.job) },
      connection: this.connection,
      matcher: this.matcher,
      now: () => this.now(),
      stampAll: this.cycle.full,
      readMembersOnCreate: !this.cycle.full,
      reconcilePending: false,
      pendingMembers: this.job.run.pendingMembers,
      escrowsPending: this.job.run.escrowsPending,
      intervalMinutes: this.job.intervalMinutes,
      hasTime: this.hasTime,
      ...(this.assignments ? { assignments: this.assignments } : {}),
      ...this.deleteGuard(),
      ...overrides,
    };
  }

  /** Accidental-deletion prevention: the cycle's deletes and disables may not pass the threshold. */
  private deleteGuard(): Pick<ApplyOptions, 'allowDeletes'> {
    const threshold = this.job.run.forceDeletes ? null : this.connection.deleteThreshold;
    if (threshold === null) return {};
    const deletedSoFar = this.cycle.countDeletes;
    return {
      allowDeletes: (count) => {
        if (deletedSoFar + count > threshold) throw new TooManyDeletesError(deletedSoFar + count, threshold);
      },
    };
  }

  /** What a batch changed in the run's state, folded into the next commit. */
  private absorb(applied: BatchApplied & AppliedCounts): RunCommit['run'] {
    this.cycle = countApplied(this.cycle, applied);
    const escrowed = applied.escrowed > 0;
    return {
      ...(applied.linkDeltaUncertain ? this.countsMayBeOff() : {}),
      ...(applied.recordedPending && !this.job.run.pendingMembers ? { pendingMembers: true } : {}),
      ...(escrowed ? { escrowsPending: true, escrowsDueAt: earliest(this.job.run.escrowsPending ? this.job.run.escrowsDueAt : null, applied.escrowedUntil) } : {}),
    };
  }

  /** A new target (or the first run): links and escrows of another target mean nothing there. */
  private async followTarget(): Promise<'continue' | 'leaseLost'> {
    if (this.job.run.targetIdentity === this.connection.targetIdentity) return 'continue';
    const moved = this.job.run.targetIdentity !== null;
    const saved = await this.commit({
      run: {
        targetIdentity: this.connection.targetIdentity,
        ...(moved
          ? {
              linkGeneration: this.job.run.linkGeneration + 1,
              escrowGeneration: this.job.run.escrowGeneration + 1,
              watermark: null,
              cycle: null,
              escrowsPending: false,
              escrowsDueAt: null,
              escrowCursor: null,
              pendingMembers: false,
              previousLinkGeneration: null,
              assignmentDigest: null,
              targetTraits: {},
              reconcileRequested: false,
            }
          : {}),
      },
      ...(moved ? { status: { synchronizedEntryCountByType: [] } } : {}),
      release: false,
    });
    if (saved === 'saved' && moved) {
      this.cycle = newCycle(randomUUID(), this.now(), true);
      this.unread = null;
    }
    return saved === 'lost' ? 'leaseLost' : 'continue';
  }

  /**
   * `SyncAll` false: reads who is assigned, and when that changed since it was last applied, brings the newly
   * assigned in and takes the unassigned out before any page is read.
   */
  private async followAssignments(read: Assignments | undefined): Promise<'continue' | 'leaseLost' | 'outOfTime'> {
    if (!this.connection.assignmentScope) return 'continue';
    const current = read ?? (await this.connection.source.readAssignments(this.job.servicePrincipalId));
    this.assignments = new AssignmentScope(current);
    const digest = assignmentDigest(current);
    if (digest === this.job.run.assignmentDigest) return 'continue';
    const pass = await applyAssignmentChanges({
      assignments: this.deps.assignments,
      memberships: this.deps.memberships,
      source: this.connection.source,
      scope: linkScopeOf(this.job),
      current,
      flatten: this.connection.flattenGroups,
      apply: (objects) => this.apply(objects, this.applyOptions({ readMembersOnCreate: true, stampAll: false })),
      hasTime: this.hasTime,
    });
    let changes: RunCommit['run'] = {};
    for (const applied of pass.batches) changes = { ...changes, ...this.absorb(applied) };
    const saved = await this.commitStep({ run: { ...changes, ...(pass.complete ? { assignmentDigest: digest } : {}), cycle: this.cycle }, release: false });
    if (saved === 'leaseLost') return 'leaseLost';
    return pass.complete ? 'continue' : 'outOfTime';
  }

  /** Escrows whose retry is due are read again from the directory and applied as they are now. */
  private async retryEscrows(): Promise<'continue' | 'leaseLost'> {
    const { run } = this.job;
    // A user's start, or a restart `Escrows`, retries every escrow at once.
    const allDue = this.tick.trigger === 'start' || run.escrowsFresh;
    if (!run.escrowsPending || (!allDue && run.escrowsDueAt !== null && run.escrowsDueAt > this.now())) return 'continue';
    const pass = await retryEscrows({
      escrows: this.deps.escrows,
      source: this.connection.source,
      apply: (objects) =>
        this.apply(objects, this.applyOptions({ reconcilePending: true, readMembersOnCreate: true, stampAll: false, escrowsPending: true, freshEscrows: run.escrowsFresh })),
      scope: escrowScopeOf(this.job),
      cursor: run.escrowCursor,
      now: () => this.now(),
      userStart: allDue,
      hasTime: this.hasTime,
    });
    let changes: RunCommit['run'] = {};
    for (const applied of pass.batches) changes = { ...changes, ...this.absorb(applied) };
    return this.commitStep({
      run: {
        ...changes,
        escrowsPending: pass.remaining,
        escrowsDueAt: pass.remaining ? pass.dueAt : null,
        escrowCursor: pass.cursor,
        ...(run.escrowsFresh && pass.cursor === null ? { escrowsFresh: false } : {}),
        cycle: this.cycle,
      },
      release: false,
    });
  }

  /**
   * The page after the one being applied, read meanwhile: taken only by a run still at the position it was read
   * from (the page before it applied and saved), else dropped. Reading ahead moves nothing: the watermark is saved
   * only once a page is applied.
   */
  private ahead: { from: string; page: Promise<DirectoryPage>; readAt: string } | null = null;

  private readAhead(from: string): void {
    const page = this.connection.source.readPage(from);
    // A failure is met when the page is taken (or never, when the run stops before).
    page.catch(() => undefined);
    this.ahead = { from, page, readAt: this.now() };
  }

  /** The page at the saved position, and when its read began. */
  private async takePage(): Promise<{ page: DirectoryPage; readAt: string }> {
    const ahead = this.ahead;
    this.ahead = null;
    const from = this.job.run.watermark;
    if (ahead && ahead.from === from) return { page: await ahead.page, readAt: ahead.readAt };
    const readAt = this.now();
    return { page: await this.connection.source.readPage(from), readAt };
  }

  private async readAndApplyPage(): Promise<'continue' | 'roundComplete' | 'leaseLost'> {
    let page: DirectoryPage;
    let readAt: string;
    try {
      ({ page, readAt } = this.unread ? { page: this.unread, readAt: this.now() } : await this.takePage());
      this.unread = null;
    } catch (error) {
      if (!(error instanceof ResyncRequiredError)) throw error;
      // The directory no longer knows our position: a full round, whose sweep then removes what is gone.
      this.cycle = newCycle(randomUUID(), this.now(), true);
      // Like a restart `Watermark`, the full round that follows keeps the links, and so reads the target back.
      return this.commitStep({ run: { watermark: null, cycle: this.cycle, reconcileRequested: true }, release: false });
    }
    if (this.cycle.full && this.cycle.pages === 0 && this.cycle.estimatedTotal === null) {
      this.cycle = { ...this.cycle, estimatedTotal: await this.connection.source.countObjects() };
    }
    // Stamps are compared with when a type's full read last began: before the page is applied, which stamps anew.
    if (this.cycle.full && page.began) this.cycle = beganReading(this.cycle, page.began, readAt);
    if (!page.roundComplete && this.hasTime()) this.readAhead(page.watermark);
    const applied = await this.apply(page.objects, this.applyOptions());
    const changes = this.absorb(applied);
    if (!applied.complete) {
      // Out of time inside the page: what was applied is saved, and the page is read again by the next run.
      return this.commitStep({ run: { ...changes, cycle: this.cycle }, release: false });
    }
    this.cycle = countImported(this.cycle, page.objects);
    const reason = escrowQuarantine(this.cycle, this.thresholds);
    if (reason) throw new EscrowThresholdError(this.cycle, reason);
    if (page.roundComplete && !this.cycle.full) {
      if (!(await this.beginReconcile())) {
        this.pendingWatermark = page.watermark;
        this.pendingChanges = changes;
        return 'roundComplete';
      }
    }
    if (page.roundComplete && this.cycle.full) {
      this.cycle = { ...this.cycle, sweep: { stage: this.job.run.previousLinkGeneration === null ? 'memberships' : 'previousLinks', cursor: null } };
    }
    return this.commitStep({
      run: { ...changes, watermark: page.watermark, cycle: this.cycle },
      status: statusAfter(this.job.status, { kind: 'page', cycle: this.cycle }, this.now()),
      release: false,
    });
  }

  private pendingWatermark: string | null = null;
  private pendingChanges: RunCommit['run'] = {};

  /** One step of a full round's sweep: what the round did not see is gone from the directory, or out of it. */
  private async sweep(): Promise<'continue' | 'roundComplete' | 'leaseLost'> {
    const step = await sweepStep({
      links: this.deps.links,
      memberships: this.deps.memberships,
      source: this.connection.source,
      target: this.connection.target,
      apply: (objects) => this.apply(objects, this.applyOptions({ stampAll: true, readMembersOnCreate: true })),
      scope: linkScopeOf(this.job),
      previousGeneration: this.job.run.previousLinkGeneration,
      cycle: this.cycle,
    });
    const changes: RunCommit['run'] = step.applied ? this.absorb(step.applied) : {};
    // What the previous generation left is now carried into this one: it need not be looked at again.
    if (step.next?.stage === 'memberships' && this.cycle.sweep?.stage !== 'memberships') changes.previousLinkGeneration = null;
    if (step.next === null) {
      this.cycle = { ...this.cycle, sweep: null };
      if (!(await this.beginReconcile())) {
        this.pendingChanges = changes;
        return 'roundComplete';
      }
      return this.commitStep({ run: { ...changes, cycle: this.cycle }, status: statusAfter(this.job.status, { kind: 'page', cycle: this.cycle }, this.now()), release: false });
    }
    this.cycle = { ...this.cycle, sweep: step.next };
    return this.commitStep({ run: { ...changes, cycle: this.cycle }, release: false });
  }

  /**
   * When the round's changes are applied and a read-back of the target is wanted (asked for by a restart that kept
   * the links, or due by `ReconcileInterval`; a full round of its own links has just matched everything), the cycle
   * goes on to read it back. Returns whether it does.
   */
  private async beginReconcile(): Promise<boolean> {
    const wanted = this.cycle.full ? this.job.run.reconcileRequested : reconcileWanted(this.job, this.now());
    if (!wanted || this.cycle.reconciled) return false;
    const counts = await this.deps.links.count(linkScopeOf(this.job));
    this.cycle = { ...this.cycle, reconcile: { stage: 'User', cursor: null, total: counts.User + counts.Group, verified: 0, repaired: 0, membershipsRestored: 0 } };
    return true;
  }

  /** One step of reading the target back and repairing what differs (target-reconcile.ts). */
  private async reconcile(): Promise<'continue' | 'roundComplete' | 'leaseLost'> {
    const reconcile = this.cycle.reconcile!;
    const step = await reconcileStep({
      links: this.deps.links,
      memberships: this.deps.memberships,
      source: this.connection.source,
      target: this.connection.target,
      apply: (objects, readBack) => this.apply(objects, this.applyOptions({ stampAll: false, readMembersOnCreate: true, reconcilePending: true, readBack })),
      scope: linkScopeOf(this.job),
      concurrency: this.deps.concurrency,
      hasTime: this.hasTime,
      reconcile,
    });
    const changes: RunCommit['run'] = step.applied ? this.absorb(step.applied) : {};
    if (step.next === null) {
      this.cycle = { ...this.cycle, reconcile: null, reconciled: step.counted };
      this.pendingChanges = changes;
      return 'roundComplete';
    }
    this.cycle = { ...this.cycle, reconcile: step.next };
    return this.commitStep({ run: { ...changes, cycle: this.cycle }, status: statusAfter(this.job.status, { kind: 'page', cycle: this.cycle }, this.now()), release: false });
  }

  /** The round is done: report its cycle, and carry on with the next round when a start asked for one. */
  private async finishRound(): Promise<RunOutcome | 'nextRound'> {
    const { job } = this;
    const { counts, verified } = await this.entryCounts();
    const rerun = job.run.rerunRequested;
    const cycle = this.cycle;
    const saved = await this.commit({
      run: {
        ...this.pendingChanges,
        ...(verified !== null ? { countsVerified: verified } : {}),
        ...(this.pendingWatermark !== null ? { watermark: this.pendingWatermark } : {}),
        cycle: null,
        ...(rerun ? { rerunRequested: false } : {}),
        ...(job.run.forceDeletes ? { forceDeletes: false } : {}),
        ...(cycle.reconciled ? { reconcileRequested: false, reconciledAt: this.now() } : {}),
      },
      status: statusAfter(job.status, { kind: 'roundComplete', cycle, counts }, this.now()),
      release: !rerun,
    });
    this.pendingWatermark = null;
    this.pendingChanges = {};
    if (saved === 'lost') return 'leaseLost';
    if (saved === 'reset') return 'nextRound'; // restarted meanwhile: go on from the reset position
    if (cycle.countEscrowed > 0 && cycle.escrowSample) this.deps.observer?.refused?.(this.job, cycle.countEscrowed, cycle.escrowSample);
    this.cycle = newCycle(randomUUID(), this.now(), this.job.run.watermark === null);
    if (rerun) {
      await settle(this.deps);
      return 'nextRound';
    }
    // A start that arrived while this round was finishing: run again rather than lose it.
    if (this.job.run.rerunRequested) await this.continueLater();
    return 'steadyState';
  }

  /**
   * The links by type at the round's end. Counted (a Query over the job's links) only when the counts may be off
   * (`countsDirty` above `countsVerified`), after a full round (restart, expired delta token, a new target), or when
   * there are none yet; otherwise the last counts plus what this cycle's committed batches created and removed.
   * `verified`: the `countsDirty` value a count covered.
   */
  private async entryCounts(): Promise<{ counts: Record<'User' | 'Group', number> | null; verified: number | null }> {
    const { job, cycle } = this;
    const dirty = Math.max(job.run.countsDirty, this.carried.countsDirty ?? 0, this.pendingChanges.countsDirty ?? 0);
    const last = new Map(job.status.synchronizedEntryCountByType.map((entry) => [entry.key, entry.value]));
    if (cycle.full || dirty > job.run.countsVerified || !last.has('User') || !last.has('Group')) {
      return { counts: await this.deps.links.count(linkScopeOf(job)), verified: dirty };
    }
    if (cycle.linkDelta.User === 0 && cycle.linkDelta.Group === 0) return { counts: null, verified: null };
    return { counts: { User: last.get('User')! + cycle.linkDelta.User, Group: last.get('Group')! + cycle.linkDelta.Group }, verified: null };
  }

  /** A bump of `countsDirty` for the next commit (see RunState.countsDirty). */
  private countsMayBeOff(): RunCommit['run'] {
    return { countsDirty: Math.max(this.job.run.countsDirty, this.carried.countsDirty ?? 0) + 1 };
  }

  private async stopForTime(): Promise<RunOutcome> {
    const saved = await this.commit({ run: { cycle: this.cycle }, release: true });
    // More work waits: continue in a fresh invocation instead of waiting for the next tick.
    if (saved === 'saved') await this.continueLater();
    return 'outOfTime';
  }

  private async quarantine(error: SynchronizationError, reason: SynchronizationQuarantine['reason']): Promise<RunOutcome> {
    const event: RunEvent = { kind: 'quarantined', cycle: this.cycle, error, reason, intervalMinutes: this.job.intervalMinutes };
    // What the stopped batch wrote (escrows, waiting memberships) is looked at again when the job runs next.
    await this.commit({ run: { cycle: null, ...this.mayHaveWritten() }, status: statusAfter(this.job.status, event, this.now()), release: true });
    this.deps.observer?.quarantined?.(this.job, error, reason);
    return 'quarantined';
  }

  /** Maps what stopped the run to its outcome (run-outcomes.ts has the table). */
  private async fail(error: unknown): Promise<RunOutcome> {
    const outcome = outcomeOf(error, this.deps.clock.now());
    if (outcome.kind === 'quarantine') return this.quarantine(outcome.error, outcome.reason);
    await this.commit({
      run: { cycle: this.cycle, ...this.mayHaveWritten(), ...(outcome.kind === 'throttled' ? { notBefore: outcome.retryAt } : {}) },
      status: statusAfter(this.job.status, { kind: 'interrupted', cycle: this.cycle, error: outcome.error }, this.now()),
      release: true,
    }).catch(() => false);
    this.deps.observer?.interrupted?.(this.job, outcome.error);
    if (outcome.kind === 'internal') throw error; // a fault of ours: the invocation fails and the alarm sees it
    return outcome.kind === 'throttled' ? 'throttled' : 'failed';
  }

  /** A batch that stopped part-way may have escrowed objects or recorded waiting memberships. */
  private mayHaveWritten(): RunCommit['run'] {
    return { escrowsPending: true, escrowsDueAt: null, pendingMembers: true, ...this.countsMayBeOff() };
  }

  /** Hands the job to a fresh invocation; if that cannot be asked for, the schedule's next tick carries on. */
  private async continueLater(): Promise<void> {
    try {
      await this.deps.trigger.trigger({ ...keyOf(this.job), trigger: 'continue' });
    } catch (error) {
      this.deps.observer?.triggerFailed?.(keyOf(this.job), error);
    }
  }

  /**
   * Writes run and status fields with the lease heartbeat. `reset` when the job was reset meanwhile (a restart: a
   * new epoch) and the lease is still ours: the run then goes on from the reset position.
   */
  private async commit(commit: RunCommit): Promise<'saved' | 'reset' | 'lost'> {
    const key = keyOf(this.job);
    // What the run learned of the target goes with the next write, so later runs do not send what it refused.
    // (No connection yet while a failure to connect is being recorded.)
    const traits = (this.connection as Connection | undefined)?.target.traits();
    const learned = traits === undefined || isDeepStrictEqual(traits, this.job.run.targetTraits) ? {} : { targetTraits: traits };
    const merged = { ...learned, ...this.carried, ...commit.run };
    const run = commit.release ? merged : { ...merged, leaseUntil: this.leaseUntil() };
    const saved = await this.deps.runs.commit(key, this.owner, this.job.run.epoch, { ...commit, run });
    if (saved) {
      this.job = saved;
      this.carried = {};
      return 'saved';
    }
    const latest = await this.deps.jobs.get(key);
    if (!latest || latest.run.leaseOwner !== this.owner || commit.release) return 'lost';
    this.job = latest;
    this.cycle = latest.run.cycle ?? newCycle(randomUUID(), this.now(), latest.run.watermark === null);
    this.unread = null;
    this.ahead = null;
    this.pendingWatermark = null;
    this.pendingChanges = {};
    return 'reset';
  }

  /** A step's commit as the loop sees it. */
  private async commitStep(commit: RunCommit): Promise<'continue' | 'leaseLost'> {
    return (await this.commit(commit)) === 'lost' ? 'leaseLost' : 'continue';
  }
}

/** The wait a run woken by a change (or asked to go on) gives the rest of a burst to arrive (see SyncRunDeps). */
export async function settle(deps: Pick<SyncRunDeps, 'notificationSettleMs' | 'sleep'>): Promise<void> {
  const ms = deps.notificationSettleMs ?? 0;
  if (ms <= 0) return;
  await (deps.sleep ?? ((wait: number) => new Promise<void>((resolve) => setTimeout(resolve, wait))))(ms);
}
