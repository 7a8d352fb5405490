import { randomUUID } from 'node:crypto';
import { scheduleNameFor } from '../domain/ids.ts';
import {
  MIN_DATE_TIME,
  type SynchronizationError,
  type SynchronizationQuarantine,
  type SynchronizationStatus,
} from '../schemas/graph.ts';
import { isDestructive } from '../domain/accidental-deletions.ts';
import type { Cycle, JobKey, StoredJob } from '../schemas/stored-job.ts';
import type { SyncTick } from '../schemas/sync-tick.ts';
import { linkIdsFor, memberOperations, planObject, type PlanContext, type TypeFlow } from '../domain/sync-plan.ts';
import { countPage, execution, newCycle } from '../domain/run-cycle.ts';
import { applyPlan, pool } from './apply-plan.ts';
import type { Clock } from '../ports/clock.ts';
import {
  ResyncRequiredError,
  SourceUnavailableError,
  type DirectoryObject,
  type DirectoryObjectType,
  type DirectoryPage,
  type DirectorySource,
} from '../ports/directory-source.ts';
import type { EscrowStore } from '../ports/escrow-store.ts';
import type { JobRunStore, RunCommit } from '../ports/job-run-store.ts';
import type { JobSchedules } from '../ports/job-schedules.ts';
import type { JobStore } from '../ports/job-store.ts';
import { linkId, type LinkScope, type LinkStore, type ObjectLink } from '../ports/link-store.ts';
import { ScimRequestError, TargetUnavailableError, type ScimTarget } from '../ports/scim-target.ts';
import type { SyncTrigger } from '../ports/sync-trigger.ts';
import { scheduleSpecOf } from './job-commands.ts';
import { TargetMatcher } from './target-matcher.ts';

/** What a connected run reads from and writes to. `close` releases connections. */
export interface Connection {
  source: DirectorySource;
  target: ScimTarget;
  /** Stable for one target (e.g. a hash of its address), so a job pointed at another target is noticed. */
  targetIdentity: string;
  /** Most deletes and disables one cycle may apply (accidental-deletion prevention); null = no limit. */
  deleteThreshold: number | null;
  /** Objects leaving scope are left as they are in the target (the `SkipOutOfScopeDeletions` secret). */
  skipOutOfScopeDeletions: boolean;
  flows: Partial<Record<DirectoryObjectType, TypeFlow>>;
  close(): Promise<void>;
}

/** A cycle would delete or disable more than the accidental-deletion threshold allows. */
class TooManyDeletesError extends Error {
  constructor(count: number, threshold: number) {
    super(
      `This cycle would delete or disable ${count} objects, more than the accidental-deletion threshold of ${threshold}. ` +
        'Nothing past the threshold was applied. If the deletions are intended, restart the job with resetScope ForceDeletes.',
    );
    this.name = 'TooManyDeletesError';
  }
}

/** A job cannot run at all (missing or refused credentials, unreachable system): quarantine. */
export class QuarantineError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'QuarantineError';
  }
}

export interface SyncRunDeps {
  jobs: JobStore;
  runs: JobRunStore;
  links: LinkStore;
  escrows: EscrowStore;
  schedules: JobSchedules;
  trigger: SyncTrigger;
  /** Builds source and target for a job from its secrets; throws QuarantineError when it cannot. */
  connect(job: StoredJob): Promise<Connection>;
  clock: Clock;
  /** Concurrent target requests per job. */
  concurrency: number;
  /** Stop taking new pages when less than this is left of the invocation. */
  safetyMarginMs?: number;
  onQuarantine?(job: StoredJob, error: SynchronizationError): void;
  /** A continuation could not be triggered (the run itself is saved; the next tick picks it up). */
  onTriggerFailure?(key: JobKey, error: unknown): void;
}

export type RunOutcome =
  | 'unknownJob'
  | 'inactive'
  | 'quarantineBackoff'
  | 'busy'
  | 'quarantined'
  | 'failed'
  | 'steadyState'
  | 'paused'
  | 'outOfTime'
  | 'leaseLost';

const ESCROW_BATCH = 100;
/** A lease outlives its last renewal by at most this (plus a margin for clock skew). */
const LEASE_MS = 3 * 60_000;
/** Quarantined jobs retry less and less often, at most once a day (as Entra does). */
const MAX_QUARANTINE_BACKOFF_MINUTES = 24 * 60;

interface PageResult {
  linksToPut: ObjectLink[];
  linksToForget: { type: DirectoryObjectType; sourceId: string }[];
  escrowed: { object: DirectoryObject; error: string }[];
  succeeded: DirectoryObject[];
  exports: number;
  exported: number;
  /** Deletes and disables the page planned. */
  deletes: number;
}

/**
 * One run of one job: take the lease, then page by page read changes at the watermark, plan them against the
 * links, apply the plan to the target, and only then save links, watermark, counters and the lease heartbeat.
 * A crash anywhere redoes at most the unfinished page, and the links make that redo idempotent.
 */
export function makeSyncRun(deps: SyncRunDeps) {
  const { jobs, runs, links, escrows, schedules, clock } = deps;
  const safetyMarginMs = deps.safetyMarginMs ?? 30_000;
  const now = () => clock.now().toISOString();

  async function applyObjects(
    objects: DirectoryObject[],
    scope: LinkScope,
    connection: Connection,
    matcher: TargetMatcher,
    options: { fullRoundId?: string | null; allowDeletes?: (count: number) => void } = {},
  ): Promise<PageResult> {
    const known = await links.getMany(scope, linkIdsFor(objects));
    const loaded = new Map(known);
    const planning = { flows: connection.flows, skipOutOfScopeDeletions: connection.skipOutOfScopeDeletions };
    // Counted before anything is applied (a page over the threshold changes nothing in the target), and only when
    // a threshold is in force: it plans the page a second time.
    const deletes = options.allowDeletes
      ? objects.map((object) => planObject(object, { ...planning, links: loaded })).filter(isDestructive).length
      : 0;
    options.allowDeletes?.(deletes);
    const result: PageResult = { linksToPut: [], linksToForget: [], escrowed: [], succeeded: [], exports: 0, exported: 0, deletes };
    for (const type of ['User', 'Group'] as const) {
      const phase = objects.filter((object) => object.type === type);
      const context: PlanContext = { ...planning, links: known };
      const plans = phase.map((object) => planObject(object, context));
      const creates = plans.filter((plan) => plan.kind === 'create' && plan.match);
      const first = creates[0];
      if (first?.kind === 'create' && first.match) {
        await matcher.prepare(first.resourceType, first.match.attribute, creates.length);
      }
      await pool(plans, deps.concurrency, async (plan) => {
        if (plan.kind === 'skip') {
          result.succeeded.push(plan.object);
          return;
        }
        if (plan.kind === 'error') {
          result.escrowed.push({ object: plan.object, error: plan.message });
          return;
        }
        result.exports += 1;
        try {
          const link = await applyPlan(plan, connection.target, matcher);
          if (link) {
            result.linksToPut.push(link);
            known.set(linkId(link.type, link.sourceId), link);
          } else {
            result.linksToForget.push({ type: plan.object.type, sourceId: plan.object.id });
            known.delete(linkId(plan.object.type, plan.object.id));
          }
          result.exported += 1;
          result.succeeded.push(plan.object);
        } catch (error) {
          if (!(error instanceof ScimRequestError)) throw error;
          result.escrowed.push({ object: plan.object, error: `${error.status}: ${error.message}` });
        }
      });
    }
    if (options.fullRoundId) recordRoundMembers(objects, loaded, known, options.fullRoundId, result);
    return result;
  }

  /**
   * A full round reports only the members groups have now, never the ones removed while no delta was read. Each
   * group link gathers the members this round reads (a large group comes in pieces over several pages), so the
   * round's end can remove the rest.
   */
  function recordRoundMembers(
    objects: DirectoryObject[],
    loaded: ReadonlyMap<string, ObjectLink>,
    known: ReadonlyMap<string, ObjectLink>,
    roundId: string,
    result: PageResult,
  ): void {
    for (const object of objects) {
      if (object.type !== 'Group' || object.removed) continue;
      const id = linkId('Group', object.id);
      const link = known.get(id);
      if (!link) continue;
      const before = loaded.get(id);
      const seen = new Set(before?.roundId === roundId ? (before.roundMembers ?? []) : []);
      for (const member of object.membersAdded) seen.add(member);
      const updated = { ...link, roundId, roundMembers: [...seen] };
      const index = result.linksToPut.findIndex((put) => put.type === 'Group' && put.sourceId === object.id);
      if (index >= 0) result.linksToPut[index] = updated;
      else result.linksToPut.push(updated);
    }
  }

  /** At the end of a full round: members still in a target group that the round did not read are removed. */
  async function removeMembersNotInRound(scope: LinkScope, connection: Connection, roundId: string): Promise<number> {
    let patched = 0;
    const updated: ObjectLink[] = [];
    for (const group of await links.listGroups(scope)) {
      if (group.roundId !== roundId) continue;
      const seen = new Set(group.roundMembers ?? []);
      const stale = (group.members ?? []).filter((member) => !seen.has(member));
      if (stale.length === 0) continue;
      const users = await links.getMany(scope, stale.map((sourceId) => ({ type: 'User' as const, sourceId })));
      const remove = stale.flatMap((sourceId) => {
        const targetId = users.get(linkId('User', sourceId))?.targetId;
        return targetId ? [{ targetId }] : [];
      });
      try {
        for (const operations of memberOperations({ add: [], remove })) await connection.target.patch('Groups', group.targetId, operations);
      } catch (error) {
        if (!(error instanceof ScimRequestError)) throw error;
        continue; // the next full round tries again
      }
      patched += 1;
      updated.push({ ...group, members: (group.members ?? []).filter((member) => seen.has(member)) });
    }
    if (updated.length > 0) await links.putMany(scope, updated);
    return patched;
  }

  async function saveLinks(scope: LinkScope, page: PageResult): Promise<void> {
    if (page.linksToPut.length > 0) await links.putMany(scope, page.linksToPut);
    if (page.linksToForget.length > 0) await links.deleteMany(scope, page.linksToForget);
  }

  async function quarantine(
    job: StoredJob,
    owner: string,
    cycle: Cycle,
    error: SynchronizationError,
    reason: SynchronizationQuarantine['reason'] = 'EncounteredQuarantineException',
  ) {
    const at = clock.now();
    const previous = job.status.quarantine;
    const seriesCount = previous ? previous.seriesCount + 1 : 0;
    const backoff = Math.min(job.intervalMinutes * 2 ** seriesCount, MAX_QUARANTINE_BACKOFF_MINUTES);
    const key = keyOf(job);
    await runs.commit(key, owner, job.run.epoch, {
      run: { cycle: null },
      status: {
        quarantine: {
          currentBegan: at.toISOString(),
          nextAttempt: new Date(at.getTime() + backoff * 60_000).toISOString(),
          reason,
          seriesBegan: previous?.seriesBegan ?? at.toISOString(),
          seriesCount,
          error,
        },
        countSuccessiveCompleteFailures: job.status.countSuccessiveCompleteFailures + 1,
        lastExecution: execution(cycle, at.toISOString(), error),
        troubleshootingUrl: null,
      },
      release: true,
    });
    deps.onQuarantine?.(job, error);
  }

  async function retryEscrows(job: StoredJob, connection: Connection, matcher: TargetMatcher, cycle: Cycle): Promise<{ cycle: Cycle; pending: boolean }> {
    const scope = { tenantId: job.tenantId, jobId: job.id, generation: job.run.escrowGeneration };
    const entries = await escrows.listEscrows(scope, ESCROW_BATCH);
    if (entries.length === 0) return { cycle, pending: false };
    const objects = entries.map((entry) => entry.object);
    const page = await applyObjects(objects, linkScopeOf(job), connection, matcher);
    await saveLinks(linkScopeOf(job), page);
    if (page.escrowed.length > 0) await escrows.putEscrows(scope, page.escrowed);
    await escrows.deleteEscrows(scope, page.succeeded);
    return {
      cycle: { ...cycle, countExports: cycle.countExports + page.exports, countExported: cycle.countExported + page.exported },
      pending: page.escrowed.length > 0 || entries.length === ESCROW_BATCH,
    };
  }

  /** Hands the job to a fresh invocation; if that cannot be asked for, the schedule's next tick carries on. */
  async function continueLater(key: JobKey): Promise<void> {
    try {
      await deps.trigger.trigger({ ...key, trigger: 'start' });
    } catch (error) {
      deps.onTriggerFailure?.(key, error);
    }
  }

  /**
   * Most ticks find nothing new. For a job at rest (no cycle, escrow, rerun or quarantine pending, no live lease)
   * the first page is read without the lease; if it is an empty end of round, the round is recorded with one
   * conditional write instead of lease, commit and release. Otherwise the page and connection go on to the leased run.
   */
  async function peekIdleRound(job: StoredJob): Promise<'recorded' | 'busy' | { connection: Connection; page: DirectoryPage } | null> {
    const atRest =
      job.run.watermark !== null &&
      job.run.cycle === null &&
      !job.run.escrowsPending &&
      !job.run.rerunRequested &&
      !job.run.forceDeletes &&
      job.status.quarantine === null &&
      (job.run.leaseOwner === null || (job.run.leaseUntil ?? '') < now());
    if (!atRest) return null;
    let connection: Connection;
    try {
      connection = await deps.connect(job);
    } catch (error) {
      if (error instanceof QuarantineError) return null; // the leased run quarantines
      throw error;
    }
    let page: DirectoryPage;
    try {
      if (connection.targetIdentity !== job.run.targetIdentity) throw new Error('target changed');
      page = await connection.source.readPage(job.run.watermark);
    } catch {
      // Whatever went wrong is handled, and reported, by the leased run.
      await connection.close();
      return null;
    }
    if (page.objects.length > 0 || !page.roundComplete) return { connection, page };
    await connection.close();
    const at = now();
    const idle = execution(newCycle(randomUUID(), at, false), at, null);
    const recorded = await runs.recordIdleRound(
      job,
      page.watermark,
      {
        lastExecution: idle,
        lastSuccessfulExecution: idle,
        steadyStateLastAchievedTime: at,
        ...(job.status.steadyStateFirstAchievedTime === MIN_DATE_TIME ? { steadyStateFirstAchievedTime: at } : {}),
        countSuccessiveCompleteFailures: 0,
        progress: [],
      },
      at,
    );
    return recorded ? 'recorded' : 'busy';
  }

  return async function run(tick: SyncTick, remainingMs: () => number): Promise<RunOutcome> {
    const key: JobKey = { tenantId: tick.tenantId, servicePrincipalId: tick.servicePrincipalId, jobId: tick.jobId };
    // Eventually consistent: every write below is conditional on the version read here.
    const job = await jobs.get(key, { consistent: false });
    if (!job) {
      // A stray schedule of a deleted job: remove it so it stops firing.
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
    const quarantined = job.status.quarantine;
    if (quarantined && tick.trigger === 'schedule' && clock.now().toISOString() < quarantined.nextAttempt) {
      return 'quarantineBackoff';
    }

    const peeked = await peekIdleRound(job);
    if (peeked === 'recorded') return 'steadyState';
    if (peeked === 'busy') return 'busy';

    const owner = randomUUID();
    // Renewed by every page commit; short, so a run that died (a crash, a killed process) blocks its job briefly.
    const leaseUntil = () => new Date(clock.now().getTime() + Math.min(remainingMs(), LEASE_MS) + 30_000).toISOString();
    let current = await runs.acquireLease(job, owner, leaseUntil(), now());
    if (!current) {
      await peeked?.connection.close();
      return 'busy';
    }

    let cycle = current.run.cycle ?? newCycle(randomUUID(), now(), current.run.watermark === null);
    let connection: Connection;
    try {
      connection = peeked?.connection ?? (await deps.connect(current));
    } catch (error) {
      if (!(error instanceof QuarantineError)) throw error;
      await quarantine(current, owner, cycle, { code: error.code, message: error.message, tenantActionable: true });
      return 'quarantined';
    }

    const matcher = new TargetMatcher(connection.target);
    try {
      if (current.run.targetIdentity !== connection.targetIdentity) {
        // A new target (or the first run): links and escrows of another target mean nothing here.
        const moved = current.run.targetIdentity !== null;
        const saved = await runs.commit(key, owner, current.run.epoch, {
          run: {
            targetIdentity: connection.targetIdentity,
            ...(moved
              ? { linkGeneration: current.run.linkGeneration + 1, escrowGeneration: current.run.escrowGeneration + 1, watermark: null, cycle: null, escrowsPending: false }
              : {}),
          },
          ...(moved ? { status: { synchronizedEntryCountByType: [] } } : {}),
          release: false,
        });
        if (!saved) return 'leaseLost';
        current = saved;
        if (moved) cycle = newCycle(randomUUID(), now(), true);
      }
      let escrowsPending = current.run.escrowsPending;
      if (escrowsPending) ({ cycle, pending: escrowsPending } = await retryEscrows(current, connection, matcher, cycle));
      let watermark = current.run.watermark;
      // The page read before the lease is valid: the lease was granted on the very version it was read from.
      let unread: DirectoryPage | null = peeked?.page ?? null;
      for (;;) {
        if (remainingMs() < safetyMarginMs) {
          const saved = await runs.commit(key, owner, current.run.epoch, { run: { cycle, escrowsPending }, release: true });
          // More pages wait: continue in a fresh invocation instead of waiting for the next tick.
          if (saved) await continueLater(key);
          return 'outOfTime';
        }
        let page;
        try {
          page = unread ?? (await connection.source.readPage(watermark));
          unread = null;
        } catch (error) {
          if (!(error instanceof ResyncRequiredError)) throw error;
          // The directory no longer knows our position: read everything again (never a mass delete).
          watermark = null;
          cycle = newCycle(randomUUID(), now(), true);
          continue;
        }
        const scope = linkScopeOf(current);
        const deletedSoFar = cycle.countDeletes;
        const threshold = current.run.forceDeletes ? null : connection.deleteThreshold;
        const result = await applyObjects(page.objects, scope, connection, matcher, {
          fullRoundId: cycle.full ? cycle.activityIdentifier : null,
          ...(threshold === null
            ? {}
            : {
                allowDeletes: (count: number) => {
                  if (deletedSoFar + count > threshold) throw new TooManyDeletesError(deletedSoFar + count, threshold);
                },
              }),
        });
        await saveLinks(scope, result);
        if (result.escrowed.length > 0) {
          await escrows.putEscrows({ tenantId: current.tenantId, jobId: current.id, generation: current.run.escrowGeneration }, result.escrowed);
          escrowsPending = true;
        }
        cycle = countPage(cycle, page.objects, {
          exports: result.exports,
          exported: result.exported,
          escrowed: result.escrowed.length,
          deletes: result.deletes,
        });
        const at = now();
        let commit: RunCommit;
        const rerun = current.run.rerunRequested;
        if (page.roundComplete) {
          if (cycle.full) {
            const patched = await removeMembersNotInRound(scope, connection, cycle.activityIdentifier);
            cycle = { ...cycle, countExports: cycle.countExports + patched, countExported: cycle.countExported + patched };
          }
          const finished = execution(cycle, at, null);
          const counts = cycle.countExported > 0 || current.status.synchronizedEntryCountByType.length === 0 ? await links.count(scope) : null;
          const status: Partial<SynchronizationStatus> = {
            lastExecution: finished,
            countSuccessiveCompleteFailures: 0,
            quarantine: null,
            progress: [],
            steadyStateLastAchievedTime: at,
            ...(current.status.steadyStateFirstAchievedTime === MIN_DATE_TIME ? { steadyStateFirstAchievedTime: at } : {}),
            ...(finished.state === 'Succeeded' ? { lastSuccessfulExecution: finished } : {}),
            ...(finished.state === 'Succeeded' && finished.countExported > 0 ? { lastSuccessfulExecutionWithExports: finished } : {}),
            ...(counts ? { synchronizedEntryCountByType: [{ key: 'User', value: counts.User }, { key: 'Group', value: counts.Group }] } : {}),
          };
          commit = {
            run: {
              watermark: page.watermark,
              cycle: null,
              escrowsPending,
              leaseUntil: leaseUntil(),
              ...(rerun ? { rerunRequested: false } : {}),
              ...(current.run.forceDeletes ? { forceDeletes: false } : {}),
            },
            status,
            release: !rerun,
          };
        } else {
          commit = {
            run: { watermark: page.watermark, cycle, escrowsPending, leaseUntil: leaseUntil() },
            status: { progress: [{ completedUnits: cycle.pages, totalUnits: cycle.pages + 1, units: 'pages', progressObservationDateTime: at }] },
            release: false,
          };
        }
        const saved = await runs.commit(key, owner, current.run.epoch, commit);
        if (!saved) {
          const latest = await jobs.get(key);
          if (!latest || latest.run.leaseOwner !== owner) return 'leaseLost';
          // Restarted meanwhile: continue from the reset position under the new epoch.
          current = latest;
          watermark = latest.run.watermark;
          cycle = latest.run.cycle ?? newCycle(randomUUID(), now(), watermark === null);
          continue;
        }
        current = saved;
        watermark = page.watermark;
        if (page.roundComplete) {
          if (!rerun) {
            // A start that arrived while this round was finishing: run again rather than lose it.
            if (saved.run.rerunRequested) await continueLater(key);
            return 'steadyState';
          }
          cycle = newCycle(randomUUID(), now(), false);
        }
        if (current.schedule.state !== 'Active') {
          await runs.commit(key, owner, current.run.epoch, { run: {}, release: true });
          return 'paused';
        }
      }
    } catch (error) {
      if (error instanceof SourceUnavailableError && !error.tenantActionable) {
        // Throttled or briefly down: a failed run, retried next tick from the same watermark, not a quarantine.
        await runs.commit(key, owner, current.run.epoch, {
          run: { cycle },
          status: {
            countSuccessiveCompleteFailures: current.status.countSuccessiveCompleteFailures + 1,
            lastExecution: execution(cycle, now(), { code: 'SourceUnavailable', message: error.message, tenantActionable: false }),
          },
          release: true,
        });
        return 'failed';
      }
      if (error instanceof TooManyDeletesError) {
        await quarantine(current, owner, cycle, { code: 'TooManyDeletes', message: error.message, tenantActionable: true }, 'TooManyDeletes');
        return 'quarantined';
      }
      if (error instanceof TargetUnavailableError || error instanceof SourceUnavailableError) {
        const code = error instanceof TargetUnavailableError ? 'TargetUnavailable' : 'SourceUnavailable';
        await quarantine(current, owner, cycle, { code, message: error.message, tenantActionable: true });
        return 'quarantined';
      }
      // Unexpected: release the lease so the next tick retries at once; the page is redone.
      await runs.commit(key, owner, current.run.epoch, { run: {}, release: true }).catch(() => null);
      throw error;
    } finally {
      await connection.close();
    }
  };
}

function keyOf(job: StoredJob): JobKey {
  return { tenantId: job.tenantId, servicePrincipalId: job.servicePrincipalId, jobId: job.id };
}

function linkScopeOf(job: StoredJob): LinkScope {
  return { tenantId: job.tenantId, jobId: job.id, generation: job.run.linkGeneration };
}

export type SyncRun = ReturnType<typeof makeSyncRun>;
