import { randomUUID } from 'node:crypto';
import { GetScheduleCommand, ResourceNotFoundException, SchedulerClient } from '@aws-sdk/client-scheduler';
import { getServices } from '../../functions/config/services.ts';
import { scheduleNameFor } from '../../functions/domain/ids.ts';
import { HttpScimTarget } from '../../functions/adapters/scim/http-scim-target.ts';
import type { SyncTick } from '../../functions/schemas/sync-tick.ts';
import { startLocalDirectory, type LocalDirectory } from '../../local/directory/local-directory.ts';
import {
  startLocalScimService,
  type LocalScimService,
  type RecordedRequest,
  type ScimFault,
} from '../../local/scim-service/local-scim-service.ts';
import type { StaleReads } from '../support/stale-reads.ts';
import { sourceUserResources, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';
import { seededRandom, type VirtualClock } from './virtual-time.ts';

type Json = Record<string, any>;

/** Thrown by the ports of a worker process that was killed. */
export class Crash extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Crash';
  }
}

/** Where a worker process dies: at its `at`-th port call, before that call takes effect or right after. */
export interface CrashSpec {
  at: number;
  afterEffect: boolean;
}

/** What the target does to one invocation's requests (for that invocation only). */
export type RunFault =
  | { kind: 'throttle'; retryAfterSeconds: number; times: number }
  | { kind: 'fail'; status: number; times: number }
  | { kind: 'timeout'; served: boolean; times: number };

/** How one worker invocation goes: killed somewhere, reading DynamoDB through a stale window, meeting target faults. */
export interface RunSpec {
  crash?: CrashSpec | null;
  /** Chance that an eventually consistent item read is stale; null = every read is current. */
  stale?: number | null;
  fault?: RunFault | null;
}

/** Settings of a world: the directory's paging and the target client's timeout. */
export interface WorldSettings {
  /** Objects per delta page. */
  pageSize: number;
  /** Member changes of one group per delta page (a larger group spans pages). */
  memberLimit: number;
  /** Per-request timeout of the worker's SCIM client; a late answer of three times this is a timeout. */
  targetTimeoutMs: number;
  /** Worker target concurrency. */
  concurrency: number;
  /** Only what is assigned to the job's service principal is in scope (`SyncAll` not set); else everything. */
  assignmentScope?: boolean;
}

/**
 * One way the target (or the job) differs from what it should be. The kind lets a run tolerate a known, open
 * problem (MODEL_TOLERATE) to look for the next one.
 */
export interface Problem {
  kind: string;
  message: string;
}

/** Kinds of problems to leave out of the verdict, from MODEL_TOLERATE (comma-separated). */
export const TOLERATED = new Set(
  (process.env.MODEL_TOLERATE ?? '')
    .split(',')
    .map((kind) => kind.trim())
    .filter(Boolean),
);

/** A problem found while the sequence runs (not only at its end). */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(`[${problem.kind}] ${problem.message}`);
    this.name = 'ProblemError';
  }
}

/** How long a crashed run's lease may still block its job: the worker's lease plus its margin, and some. */
const LEASE_EXPIRY_MS = 5 * 60_000;
/** The job's schedule interval (`createJob`'s PT40M). */
const TICK_MS = 40 * 60_000;
/** Budget of one worker invocation, in virtual time (the deployed worker's 15 minutes). */
const INVOCATION_MS = 15 * 60_000;
/** Runs the end of a sequence may take to reach a steady state with nothing left to export. */
const MAX_SETTLING_RUNS = 16;
/** Longer than the longest escrow back-off (a day). */
const ESCROW_HORIZON_MS = 25 * 60 * 60 * 1000;

/** Counts every port call of one worker process; call number `at` kills it, and every later call fails. */
class CrashPoint {
  /** Port calls made so far. */
  calls = 0;
  dead = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly spec: CrashSpec | null) {}

  wrap<T extends object>(port: T): T {
    return new Proxy(port, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || property === 'close' || property === 'constructor') return value;
        // What the target adapter learned is held in memory: reading or adding to it is no port call.
        if (property === 'traits' || property === 'learn') return (value as (...a: unknown[]) => unknown).bind(target);
        return async (...args: unknown[]) => {
          if (this.dead) throw new Crash('the process is gone');
          const call = ++this.calls;
          if (call === this.spec?.at && !this.spec.afterEffect) this.die(call);
          const pending = Promise.resolve().then(() => Reflect.apply(value as (...a: unknown[]) => unknown, target, args));
          this.inflight.add(pending);
          void pending.then(
            () => this.inflight.delete(pending),
            () => this.inflight.delete(pending),
          );
          const result = await pending;
          if (call === this.spec?.at && !this.dead) this.die(call);
          if (this.dead) throw new Crash('the process is gone');
          return result;
        };
      },
    });
  }

  /** Waits for the calls a dead process had in flight: their effects land (or not) before the test goes on. */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private die(call: number): never {
    this.dead = true;
    throw new Crash(`killed at port call ${call}`);
  }
}

/** What the world knows of one directory user that it needs for the projection. */
interface ProvisionHistory {
  /** userNames seen in the target at the end of some command since their account was last deleted behind the job. */
  everInTarget: Set<string>;
  /** Accounts (by userName) and groups (by externalId) deleted in the target behind the job. */
  deletedBehindBack: Map<string, number>;
}

/**
 * One run of the model: a fresh local directory (small delta pages) and SCIM target, a started job of the SCIM
 * template reading that directory, and worker invocations driven on a virtual clock, each a process that can be
 * killed at any port call and read DynamoDB through a stale window.
 */
export class SyncWorld {
  readonly history: ProvisionHistory = { everInTarget: new Set(), deletedBehindBack: new Map() };
  /** What happened, for the failure report: outcomes of runs, errors the worker threw. */
  readonly journal: string[] = [];
  /** Problems the checks during the sequence found (a strict world throws the first one instead). */
  readonly violations: Problem[] = [];
  /** Throw at the first problem found while running (generated sequences: fail fast, shrink on it). */
  strict = true;
  private readonly scheduler: SchedulerClient;
  private readonly random: () => number;
  private readonly targets = new Set<HttpScimTarget>();
  /** Requests up to here are accounted to an execution already checked. */
  private checkedRequests = 0;
  private lastExecution: string | null = null;

  private constructor(
    readonly h: SyncHarness,
    readonly clock: VirtualClock,
    readonly stale: StaleReads,
    readonly settings: WorldSettings,
    readonly directory: LocalDirectory,
    readonly scim: LocalScimService,
    readonly jobId: string,
    seed: number,
  ) {
    this.scheduler = new SchedulerClient({ endpoint: h.stack.schedulerUrl, maxAttempts: 1 });
    this.random = seededRandom(seed);
  }

  /** A world with an empty directory and target, and a job created and pointed at both (not started). */
  static async create(h: SyncHarness, clock: VirtualClock, stale: StaleReads, settings: WorldSettings, seed: number): Promise<SyncWorld> {
    // What earlier worlds wrote is old news: a stale read here only ever serves this world's own writes.
    stale.close();
    const directory = await startLocalDirectory({
      seedUsers: 0,
      seedGroups: 0,
      pageSize: settings.pageSize,
      memberLimit: settings.memberLimit,
      clock,
      servicePrincipals: [{ id: h.servicePrincipalId, appId: randomUUID(), displayName: 'Model app' }],
    });
    const scim = await startLocalScimService({ host: '127.0.0.1', port: 0, token: h.scimToken, recordRequests: true, clock });
    await h.expectOk('PUT', '/secrets', {
      value: [
        { key: 'BaseAddress', value: scim.url },
        { key: 'SecretToken', value: h.scimToken },
        { key: 'SourceBaseAddress', value: directory.url },
        ...(settings.assignmentScope ? [] : [{ key: 'SyncAll', value: 'true' }]),
      ],
    });
    const jobId = await h.createJob();
    h.discardTriggered();
    return new SyncWorld(h, clock, stale, settings, directory, scim, jobId, seed);
  }

  async close(): Promise<void> {
    this.stale.close();
    await this.h.api('DELETE', `/jobs/${this.jobId}`);
    this.h.discardTriggered();
    this.scheduler.destroy();
    await this.closeTargets();
    await this.scim.close();
    await this.directory.close();
  }

  // ----- the directory, through its Graph API

  async graph(method: string, route: string, body?: unknown): Promise<any> {
    const response = await fetch(`${this.directory.url}/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`directory ${method} ${route} answered ${response.status}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async listAll(kind: string, select: string): Promise<Json[]> {
    const items: Json[] = [];
    let next: string | undefined = `${this.directory.url}/${kind}?$select=${select}&$top=999`;
    while (next) {
      const page = (await (await fetch(next)).json()) as { value: Json[]; '@odata.nextLink'?: string };
      items.push(...page.value);
      next = page['@odata.nextLink'];
    }
    return items;
  }

  // ----- the target, behind the job's back

  /** Deletes a resource in the target directly, as an administrator of the target would. */
  /** `key` counts the re-creation it allows: a user's userName, a group's externalId (or `group "<name>"` without one). */
  async deleteInTarget(type: 'Users' | 'Groups', id: string, key: string): Promise<void> {
    const response = await fetch(`${this.scim.url}/${type}/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${this.h.scimToken}`, 'x-operator': 'model' },
    });
    if (response.status !== 204) throw new Error(`DELETE /${type}/${id} in the target answered ${response.status}`);
    this.history.deletedBehindBack.set(key, (this.history.deletedBehindBack.get(key) ?? 0) + 1);
    this.history.everInTarget.delete(key);
  }

  targetUsers(): Json[] {
    return this.scim.resources('Users') as Json[];
  }

  targetGroups(): Json[] {
    return this.scim.resources('Groups') as Json[];
  }

  // ----- the job, through the API

  getJob(): Promise<Json> {
    return this.h.getJob(this.jobId);
  }

  async jobAction(action: 'start' | 'pause' | 'restart', body?: unknown): Promise<void> {
    await this.h.expectOk('POST', `/jobs/${this.jobId}/${action}`, body);
    await this.checkSchedule(`after ${action}`);
  }

  /** Records a problem found while running; a strict world fails the sequence at once, unless the kind is tolerated. */
  private violation(kind: string, message: string): void {
    if (TOLERATED.has(kind)) return;
    const problem = { kind, message };
    this.violations.push(problem);
    this.journal.push(`   !! [${kind}] ${message}`);
    if (this.strict) throw new ProblemError(problem);
  }

  /** An Active job must keep an enabled schedule: nothing else ever runs it again. */
  async checkSchedule(when: string): Promise<void> {
    const job = await this.getJob();
    if (job.schedule.state !== 'Active') return;
    const schedule = await this.schedule();
    if (schedule !== 'ENABLED') {
      this.violation(
        'schedule',
        `${when}: the job is Active but its schedule is ${schedule === null ? 'gone' : schedule}, so it never ticks again`,
      );
    }
  }

  private async schedule(): Promise<string | null> {
    try {
      const found = await this.scheduler.send(
        new GetScheduleCommand({ Name: scheduleNameFor(this.h.tenantId, this.jobId), GroupName: this.h.stack.scheduleGroup }),
      );
      return found.State ?? null;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return null;
      throw error;
    }
  }

  // ----- worker invocations

  /** The invocations the API asked for (start, restart), each run as its own process. */
  async drainTriggered(spec: RunSpec = {}): Promise<string[]> {
    const outcomes: string[] = [];
    for (;;) {
      const mine = this.h.triggered().filter((payload) => (payload as SyncTick).jobId === this.jobId) as SyncTick[];
      this.h.discardTriggered();
      if (mine.length === 0) return outcomes;
      for (const tick of mine) outcomes.push(await this.invoke(tick.trigger, spec));
    }
  }

  /** The schedule fires (if the Scheduler has it enabled) one interval later. */
  async tick(spec: RunSpec = {}): Promise<string> {
    this.clock.advance(TICK_MS);
    if ((await this.schedule()) !== 'ENABLED') return 'noTick';
    return this.invoke('schedule', spec);
  }

  /** One worker invocation: a process of its own whose ports may die, reading through a stale window if asked. */
  async invoke(trigger: SyncTick['trigger'], spec: RunSpec = {}): Promise<string> {
    const crash = new CrashPoint(spec.crash ?? null);
    const run = wrappedSyncRun(this.clock, (port) => crash.wrap(this.withTestClock(port)), this.settings.concurrency);
    const deadline = this.clock.nowMs() + INVOCATION_MS;
    const servedBefore = this.stale.served;
    if (spec.stale != null) this.stale.open({ probability: spec.stale, random: this.random });
    // A fault of this invocation only: once it is over, what is left of it meets no request.
    let faulting = true;
    if (spec.fault)
      this.scim.failNext({
        ...this.faultOf(spec.fault),
        match: (request) => faulting && (spec.fault?.kind !== 'timeout' || request.method !== 'GET'),
      });
    let outcome: string;
    try {
      outcome = await run(this.h.tickOf(this.jobId, trigger), () => deadline - this.clock.nowMs());
    } catch (error) {
      if (error instanceof Crash || crash.dead) outcome = 'crashed';
      else {
        outcome = 'threw';
        this.journal.push(`the worker threw: ${(error as Error).stack ?? String(error)}`);
      }
    } finally {
      await crash.settled();
      faulting = false;
      this.stale.close();
      await this.closeTargets();
    }
    const notes = [
      ...(spec.crash && outcome !== 'crashed' ? [`${crash.calls} port calls, fewer than the kill needed`] : []),
      ...(spec.stale != null ? [`${this.stale.served - servedBefore} stale read(s) served`] : []),
    ];
    this.journal.push(`   ${trigger} run: ${outcome}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`);
    // A killed invocation's lease blocks the job until it runs out.
    if (outcome === 'crashed') this.clock.advance(LEASE_EXPIRY_MS);
    for (const user of this.targetUsers()) this.history.everInTarget.add(user.userName as string);
    await this.checkExecution();
    await this.checkSchedule(`after a ${trigger} run that ended ${outcome}`);
    return outcome;
  }

  /** The SCIM service fault for a run fault: a late answer is three client timeouts late. */
  faultOf(fault: RunFault): ScimFault {
    switch (fault.kind) {
      case 'throttle':
        return { status: 429, retryAfter: String(fault.retryAfterSeconds), times: fault.times };
      case 'fail':
        return { status: fault.status, times: fault.times };
      case 'timeout':
        return { ...(fault.served ? {} : { status: 504 }), delayMs: this.settings.targetTimeoutMs * 3, times: fault.times };
    }
  }

  /**
   * A throttled or briefly failing target (429, 5xx, timeouts) says nothing about an object: the run pauses and
   * carries on (ThrottledError). So an execution may report escrows only if the target refused some object's
   * request (a 4xx other than 401, 403, 404 and 429) since the previous execution.
   */
  private async checkExecution(): Promise<void> {
    const execution = (await this.getJob()).status.lastExecution as Json | null;
    if (!execution || execution.activityIdentifier === this.lastExecution) return;
    this.lastExecution = execution.activityIdentifier as string;
    const requests = this.scim.requests().slice(this.checkedRequests);
    this.checkedRequests = this.scim.requests().length;
    if (execution.countEscrowed === 0) return;
    const refusals = requests.filter((request) => isRefusal(request.status));
    if (refusals.length === 0) {
      const answered = summarise(requests.filter((request) => (request.status ?? 200) >= 300));
      this.violation(
        'throttle-escrow',
        `an execution escrowed ${execution.countEscrowed} object(s) though the target refused none (it answered ${answered}): ` +
          'throttling and brief failures must pause the run, not escrow objects',
      );
    }
  }

  /** The worker's SCIM client, made with this world's clock (its back-off waits pass as virtual time) and timeout. */
  private withTestClock<T extends object>(port: T): T {
    const looksLikeTarget = ['findBy', 'create', 'patch', 'list'].every((name) => typeof (port as Json)[name] === 'function');
    if (!looksLikeTarget) return port;
    if (!(port instanceof HttpScimTarget)) {
      throw new Error(
        'connect built a SCIM target that is not an HttpScimTarget: teach test/model/sync-world.ts to give it the virtual clock',
      );
    }
    const target = new HttpScimTarget({
      baseUrl: this.scim.url,
      token: this.h.scimToken,
      clock: this.clock,
      sleep: this.clock.sleep,
      random: this.random,
      timeoutMs: this.settings.targetTimeoutMs,
      connections: this.settings.concurrency * 2,
    });
    this.targets.add(target);
    return target as unknown as T;
  }

  private async closeTargets(): Promise<void> {
    for (const target of this.targets) await target.close();
    this.targets.clear();
  }

  // ----- the end of a sequence

  /**
   * The verdict on a sequence whose steps have run: what the checks found meanwhile, then what stands between the
   * target and the projection once the job has settled on its own schedule. If that leaves the target behind but a
   * start ("sync now", which retries every escrow at once) catches it up, the problem is that the schedule alone
   * does not get there (`behind-on-schedule`); what a start does not fix is reported as it is.
   */
  async verdict(): Promise<Problem[]> {
    const onSchedule = [...(await this.settle()), ...(await this.differences())];
    if (onSchedule.length === 0 || onSchedule.some((problem) => problem.kind === 'schedule' || problem.kind === 'not-settled')) {
      return [...this.violations, ...onSchedule];
    }
    this.journal.push("settling again: the target is behind after the schedule's runs; start the job");
    await this.jobAction('start');
    const afterStart = [...(await this.settle()), ...(await this.differences())];
    if (afterStart.length > 0) return [...this.violations, ...afterStart];
    const behind = onSchedule.map(({ kind, message }) => `[${kind}] ${message}`).join('; ');
    return [
      ...this.violations,
      {
        kind: 'behind-on-schedule',
        message: `the schedule's runs reached a steady state with the target behind (${behind}); a start caught it up`,
      },
    ];
  }

  /**
   * Faults stop: no more injected target faults, reads are current, no process dies. A quarantined job is restarted
   * (QuarantineState), a job that is not Active is started, and runs go on (triggered ones, then the schedule's)
   * until one ends in a steady state with nothing exported. Returns what kept it from getting there, if anything.
   */
  async settle(): Promise<Problem[]> {
    this.scim.clearFaults();
    this.stale.close();
    this.journal.push('settling: faults stop');
    let lifts = 0;
    let escrowHorizonPassed = false;
    for (let runs = 0; runs < MAX_SETTLING_RUNS;) {
      const job = await this.getJob();
      if (job.status.quarantine && lifts < 2) {
        lifts += 1;
        this.journal.push(`settling: restart QuarantineState (quarantined for ${String(job.status.quarantine.error?.code)})`);
        await this.jobAction('restart', { criteria: { resetScope: 'QuarantineState' } });
      } else if (job.schedule.state !== 'Active' && lifts < 2) {
        lifts += 1;
        this.journal.push('settling: start');
        await this.jobAction('start');
      }
      const triggered = await this.drainTriggered();
      let outcome = triggered.at(-1);
      runs += triggered.length;
      if (outcome === undefined) {
        outcome = await this.tick();
        runs += 1;
        if (outcome === 'noTick') {
          const problem = {
            kind: 'schedule',
            message: 'the job never runs again: it is Active but the Scheduler has no enabled schedule for it',
          };
          if (!TOLERATED.has(problem.kind)) return [problem];
          // Tolerated: run it as the lost schedule would have, to look at what else is wrong.
          outcome = await this.invoke('schedule');
        }
      }
      const after = (await this.getJob()).status;
      const idle = outcome === 'steadyState' && after.lastExecution?.countImported === 0 && after.lastExecution.countExported === 0 && after.quarantine === null;
      if (idle && !escrowHorizonPassed) {
        // Escrows are retried less and less often: let a day pass, so every back-off has run out, and look again.
        escrowHorizonPassed = true;
        this.clock.advance(ESCROW_HORIZON_MS);
        continue;
      }
      // Settled = a round that found nothing at all: one that imported changes may have begun before the last of them
      // (a change to a stream the round had passed comes in the next round, as in Graph).
      if (idle) return [];
    }
    const status = (await this.getJob()).status;
    const last = pick(status.lastExecution, ['state', 'countExported', 'countEscrowed', 'error']);
    return [
      {
        kind: 'not-settled',
        message:
          `no steady state with nothing imported or exported after ${MAX_SETTLING_RUNS} runs ` +
          `(last execution ${JSON.stringify(last)}, quarantine ${JSON.stringify(status.quarantine?.error ?? null)})`,
      },
    ];
  }

  /**
   * With assignment scope, who is in it now: the assigned users and the direct user members of the assigned groups;
   * null when everything is.
   */
  private async assignedScope(): Promise<{ users: Set<string>; groups: Set<string> } | null> {
    if (!this.settings.assignmentScope) return null;
    const assignments = (await this.listAll(`servicePrincipals/${this.h.servicePrincipalId}/appRoleAssignedTo`, 'principalId,principalType')) as {
      principalId: string;
      principalType: string;
    }[];
    const users = new Set(assignments.filter((a) => a.principalType === 'User').map((a) => a.principalId));
    const groups = new Set(assignments.filter((a) => a.principalType === 'Group').map((a) => a.principalId));
    for (const groupId of groups) {
      for (const member of await this.listAll(`groups/${groupId}/members`, 'id')) if (member['@odata.type'] === '#microsoft.graph.user') users.add(member.id as string);
    }
    return { users, groups };
  }

  /** Where the target differs from the projection of the directory as it is now (empty when they agree). */
  async differences(): Promise<Problem[]> {
    if (process.env.MODEL_DEBUG) for (const request of this.scim.requests()) console.log('REQ', request.method, request.path, JSON.stringify(request.body ?? '').slice(0, 200), (request as any).status);
    const problems: Problem[] = [];
    const problem = (kind: string, message: string) => problems.push({ kind, message });
    const status = (await this.getJob()).status;
    if (status.lastExecution?.countEscrowed !== 0)
      problem('escrowed', `the last execution escrowed ${String(status.lastExecution?.countEscrowed)} object(s)`);

    // The entry counts are kept as links come and go (not counted each round): they must be the links there are.
    const { jobs, links } = getServices();
    const stored = await jobs.get({ tenantId: this.h.tenantId, servicePrincipalId: this.h.servicePrincipalId, jobId: this.jobId }, { consistent: true });
    if (stored) {
      const real = await links.count({ tenantId: stored.tenantId, jobId: stored.id, generation: stored.run.linkGeneration });
      const reported = Object.fromEntries((status.synchronizedEntryCountByType as { key: string; value: number }[]).map((entry) => [entry.key, entry.value]));
      if (reported.User !== real.User || reported.Group !== real.Group)
        problem('entry-counts', `the status counts ${reported.User} users and ${reported.Group} groups, the job has ${real.User} and ${real.Group} links`);
    }

    // Users: what the SCIM template maps each present directory user to.
    const mapped = await sourceUserResources({ listAll: (kind, select) => this.listAll(kind, select) as Promise<any[]> });
    const present = await this.listAll('users', 'id,userPrincipalName,accountEnabled');
    const softDeleted = await this.listAll('directory/deletedItems/microsoft.graph.user', 'id,userPrincipalName');
    const accounts = new Map<string, Json[]>();
    for (const account of this.targetUsers())
      accounts.set(account.userName as string, [...(accounts.get(account.userName as string) ?? []), account]);
    const known = new Set<string>();
    const scope = await this.assignedScope();
    for (const user of present) {
      const userName = user.userPrincipalName as string;
      known.add(userName);
      const found = accounts.get(userName) ?? [];
      if (found.length > 1) problem('user-duplicate', `user ${userName}: ${found.length} accounts in the target`);
      const account = found[0];
      if (scope && !scope.users.has(user.id as string)) {
        // Not assigned, itself or through a group: never provisioned, or disabled when it left scope.
        if (account && account.active !== false) problem('user-out-of-scope-active', `user ${userName} (not assigned): the target account is active`);
        continue;
      }
      const { schemas: _schemas, ...expected } = mapped.get(user.id as string) ?? {};
      const disabled = user.accountEnabled === false;
      if (!account) {
        if (!disabled) problem('user-missing', `user ${userName}: no account in the target`);
        else if (this.history.everInTarget.has(userName))
          problem('user-missing', `user ${userName} (disabled): its account was in the target and is gone`);
        continue;
      }
      for (const difference of differencesOf(expected, account))
        problem('user-attributes', `user ${userName}${disabled ? ' (disabled)' : ''}: ${difference}`);
    }
    for (const user of softDeleted) {
      const userName = user.userPrincipalName as string;
      known.add(userName);
      const account = accounts.get(userName)?.[0];
      if (!account) {
        if (this.history.everInTarget.has(userName))
          problem('user-missing', `user ${userName} (soft-deleted): its account was in the target and is gone`);
      } else if (account.active !== false) {
        problem('user-soft-deleted-active', `user ${userName} (soft-deleted): the target account is active`);
      }
    }
    for (const [userName, found] of accounts) {
      if (!known.has(userName)) {
        problem(
          'user-not-in-directory',
          `user ${userName}: the target has an account (active ${String(found[0]?.active)}) ` +
            'but the directory has no such user (hard-deleted)',
        );
      }
    }

    // Groups: every directory group once, known by its externalId (the group's object id), with its direct user members.
    const idOfUserName = new Map(this.targetUsers().map((account) => [account.userName as string, account.id as string]));
    const userNameOfTargetId = new Map(this.targetUsers().map((account) => [account.id as string, account.userName as string]));
    const targetGroups = this.targetGroups();
    const matched = new Set<Json>();
    for (const group of await this.listAll('groups', 'id,displayName')) {
      const label = `group "${String(group.displayName)}"`;
      const copies = targetGroups.filter((candidate) => candidate.externalId === group.id);
      if (scope && !scope.groups.has(group.id as string)) {
        // Not assigned: not in the target (deleted when it was unassigned).
        for (const copy of copies) matched.add(copy);
        if (copies.length > 0) problem('group-out-of-scope', `${label} (not assigned): in the target`);
        continue;
      }
      if (copies.length > 1) problem('group-duplicate', `${label}: ${copies.length} groups in the target with its externalId`);
      let target = copies[0];
      if (!target) {
        // Without its externalId, the group can still be recognised by name, to check the rest of it.
        target = targetGroups.find((candidate) => candidate.displayName === group.displayName && candidate.externalId === undefined);
        if (!target) {
          problem('group-missing', `${label}: not in the target`);
          continue;
        }
        problem('group-external-id', `${label}: the target group has no externalId (the directory object id ${String(group.id)})`);
      }
      matched.add(target);
      if (target.displayName !== group.displayName) problem('group-name', `${label}: the target calls it "${String(target.displayName)}"`);
      const members = (await this.listAll(`groups/${group.id as string}/members`, 'id,userPrincipalName')).filter(
        (member) => member['@odata.type'] === '#microsoft.graph.user',
      );
      const expected = new Set(
        members.map((member) => idOfUserName.get(member.userPrincipalName as string)).filter((id): id is string => id !== undefined),
      );
      const actual = new Set(((target.members ?? []) as Json[]).map((member) => member.value as string));
      const name = (id: string) => userNameOfTargetId.get(id) ?? `${id} (no such account)`;
      const missing = [...expected].filter((id) => !actual.has(id)).map(name);
      const extra = [...actual].filter((id) => !expected.has(id)).map(name);
      if (missing.length > 0) problem('group-members-missing', `${label}: members missing in the target: ${missing.join(', ')}`);
      if (extra.length > 0)
        problem('group-members-extra', `${label}: members in the target that are not its direct user members: ${extra.join(', ')}`);
    }
    for (const group of targetGroups) {
      if (!matched.has(group))
        problem(
          'group-not-in-directory',
          `group "${String(group.displayName)}" (externalId ${String(group.externalId)}): in the target but not in the directory`,
        );
    }

    // Nothing created twice: an object is created once, and once more per deletion behind the job's back.
    const creates = new Map<string, number>();
    for (const request of this.scim.requests()) {
      if (request.method !== 'POST' || request.status !== 201) continue;
      const body = request.body as Json;
      const key = request.path.startsWith('/Users')
        ? (body.userName as string)
        : ((body.externalId as string | undefined) ?? `group "${String(body.displayName)}"`);
      creates.set(key, (creates.get(key) ?? 0) + 1);
    }
    for (const [key, count] of creates) {
      const allowed = 1 + (this.history.deletedBehindBack.get(key) ?? 0);
      if (count > allowed) problem('created-twice', `${key}: created ${count} times in the target (allowed ${allowed})`);
    }
    return problems;
  }
}

function isRefusal(status: number | undefined): boolean {
  return status !== undefined && status >= 400 && status < 500 && ![401, 403, 404, 429].includes(status);
}

function summarise(requests: RecordedRequest[]): string {
  const counts = new Map<string, number>();
  for (const request of requests) {
    const late = request.fault?.delayMs !== undefined && request.fault.status === undefined;
    const label = `${request.status ?? 'no answer'}${late ? ' (late)' : ''}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return counts.size === 0 ? 'nothing but successes' : [...counts].map(([label, count]) => `${count}× ${label}`).join(', ');
}

function pick(object: Json | null | undefined, keys: string[]): Json | null {
  return object ? Object.fromEntries(keys.map((key) => [key, object[key]])) : null;
}

/** `expected`'s values that `actual` lacks or holds differently (toMatchObject's notion of a match), one line each. */
function differencesOf(expected: unknown, actual: unknown, path = ''): string[] {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length)
      return [`${path || 'value'} is ${JSON.stringify(actual)}, the directory maps ${JSON.stringify(expected)}`];
    return expected.flatMap((item, index) => differencesOf(item, actual[index], `${path}[${index}]`));
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object')
      return [`${path || 'value'} is ${JSON.stringify(actual)}, the directory maps ${JSON.stringify(expected)}`];
    return Object.entries(expected).flatMap(([key, value]) => differencesOf(value, (actual as Json)[key], path ? `${path}.${key}` : key));
  }
  return Object.is(expected, actual) ? [] : [`${path} is ${JSON.stringify(actual)}, the directory maps ${JSON.stringify(expected)}`];
}
