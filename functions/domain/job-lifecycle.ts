import { FLATTEN_NESTED_GROUPS, jobSettingValue } from './job-settings.ts';
import { MIN_DATE_TIME, type KeyValue, type StatusCode, type SynchronizationJob, type SynchronizationStatus } from '../schemas/graph.ts';
import type { StoredJob, Transition } from '../schemas/stored-job.ts';
import { formatInterval } from './interval.ts';
import { newJobId, scheduleNameFor } from './ids.ts';
import type { ResetPlan } from './reset-scope.ts';
import type { SynchronizationTemplate } from './templates.ts';

/** The newest transitions a job keeps; older ones fall off (the job item must stay small). */
const HISTORY_LIMIT = 20;

export const DEFAULT_INTERVAL_MINUTES = 5;

export function emptyStatus(): SynchronizationStatus {
  return {
    code: 'NotConfigured',
    countSuccessiveCompleteFailures: 0,
    escrowsPruned: false,
    synchronizedEntryCountByType: [],
    lastExecution: null,
    lastSuccessfulExecution: null,
    lastSuccessfulExecutionWithExports: null,
    progress: [],
    quarantine: null,
    steadyStateFirstAchievedTime: MIN_DATE_TIME,
    steadyStateLastAchievedTime: MIN_DATE_TIME,
    troubleshootingUrl: null,
  };
}

export interface NewJobInput {
  tenantId: string;
  servicePrincipalId: string;
  template: SynchronizationTemplate;
  intervalMinutes: number;
  randomHex32: string;
  now: string;
}

export function createJob(input: NewJobInput): StoredJob {
  const id = newJobId(input.template.id, input.tenantId, input.randomHex32);
  return {
    tenantId: input.tenantId,
    servicePrincipalId: input.servicePrincipalId,
    id,
    templateId: input.template.id,
    createdDateTime: input.now,
    version: 1,
    intervalMinutes: input.intervalMinutes,
    scheduleName: scheduleNameFor(input.tenantId, id),
    schemaVersion: null,
    schedule: { expiration: null, interval: formatInterval(input.intervalMinutes), state: 'Disabled' },
    status: emptyStatus(),
    synchronizationJobSettings: input.template.jobSettings.map((setting) => ({ ...setting })),
    metadata: input.template.metadata.map((entry) => ({ ...entry })),
    run: {
      watermark: null,
      watermarkAt: null,
      epoch: 0,
      linkGeneration: 0,
      escrowGeneration: 0,
      leaseOwner: null,
      leaseUntil: null,
      rerunRequested: false,
      notifications: null,
      escrowsPending: false,
      forceDeletes: false,
      targetIdentity: null,
      pendingMembers: false,
      previousLinkGeneration: null,
      notBefore: null,
      escrowsDueAt: null,
      escrowCursor: null,
      escrowsFresh: false,
      reconcileRequested: false,
      reconciledAt: null,
      assignmentDigest: null,
      targetTraits: {},
      countsDirty: 0,
      countsVerified: 0,
      cycle: null,
    },
    history: [{ action: 'create', at: input.now }],
  };
}

/** The status code Graph shows follows from the schedule and what the worker achieved. */
export function statusCodeOf(job: StoredJob): StatusCode {
  switch (job.schedule.state) {
    case 'Disabled':
      return 'NotConfigured';
    case 'Paused':
      return 'Paused';
    case 'Active':
      if (job.status.quarantine) return 'Quarantine';
      // Running once is enough: a long initial sync is Active while it goes (its progress says how far).
      return job.status.steadyStateFirstAchievedTime === MIN_DATE_TIME && job.status.lastExecution === null ? 'NotRun' : 'Active';
  }
}

/** The job as Graph renders it. */
export function toGraphJob(job: StoredJob): SynchronizationJob {
  return {
    id: job.id,
    templateId: job.templateId,
    schedule: { ...job.schedule },
    status: { ...job.status, code: statusCodeOf(job), changeNotifications: changeNotificationsOf(job) },
    synchronizationJobSettings: job.synchronizationJobSettings,
    metadata: job.metadata,
  };
}

const SCHEDULE_ONLY = 'Changes reach the job on its schedule only: the deployment has no public webhook URL for Graph change notifications.';

/** What the status tells of change notifications; `pending` until the worker first set them up. */
function changeNotificationsOf(job: StoredJob): NonNullable<SynchronizationJob['status']['changeNotifications']> {
  const notifications = job.run.notifications;
  if (!notifications) return { state: 'pending', message: null };
  if (notifications.state === 'notConfigured') return { state: 'notConfigured', message: notifications.message ?? SCHEDULE_ONLY };
  return { state: notifications.state, message: notifications.message };
}

function record(job: StoredJob, transition: Transition): StoredJob['history'] {
  return [...job.history, transition].slice(-HISTORY_LIMIT);
}

function withStatusCode(job: StoredJob): StoredJob {
  return { ...job, status: { ...job.status, code: statusCodeOf(job) } };
}

/** Schedule Active and quarantine lifted; progress (watermark, links, escrows) is kept. */
function activate(job: StoredJob, now: string): StoredJob {
  const liftsQuarantine = job.status.quarantine !== null;
  return withStatusCode({
    ...job,
    schedule: { ...job.schedule, state: 'Active' },
    status: {
      ...job.status,
      quarantine: null,
      countSuccessiveCompleteFailures: liftsQuarantine ? 0 : job.status.countSuccessiveCompleteFailures,
    },
    run: {
      ...job.run,
      epoch: liftsQuarantine ? job.run.epoch + 1 : job.run.epoch,
      // A user's start tries at once, even while a throttled target asked us to wait.
      notBefore: null,
      // A run holding a live lease goes on to a fresh steady state instead of a second run starting.
      rerunRequested: job.run.leaseOwner !== null && (job.run.leaseUntil ?? '') > now,
    },
  });
}

/** Start (or "sync now" on an active job). */
export function startJob(job: StoredJob, now: string): StoredJob {
  return activate({ ...job, history: record(job, { action: 'start', at: now }) }, now);
}

/** Pause: schedule Paused; everything else is kept so a later start continues where it stopped. */
export function pauseJob(job: StoredJob, now: string): StoredJob {
  const next: StoredJob = {
    ...job,
    schedule: { ...job.schedule, state: 'Paused' },
    run: { ...job.run, rerunRequested: false },
    history: record(job, { action: 'pause', at: now }),
  };
  return withStatusCode(next);
}

/** Restart: apply the reset plan, then behave as start. */
export function restartJob(job: StoredJob, plan: ResetPlan, scopeText: string, now: string): StoredJob {
  const run = { ...job.run, epoch: job.run.epoch + 1 };
  if (plan.watermark || plan.links) {
    run.watermark = null;
    run.cycle = null;
  }
  // The full round that follows reads the target back when it keeps the links (Entra's initial cycle queries the
  // target for every object); with new links it matches every object against the target anyway.
  if (plan.watermark || plan.links) run.reconcileRequested = !plan.links;
  if (plan.links) {
    run.previousLinkGeneration = run.previousLinkGeneration ?? run.linkGeneration;
    run.linkGeneration += 1;
    run.pendingMembers = false;
    run.assignmentDigest = null;
  }
  if (plan.escrows && (plan.watermark || plan.links)) {
    // A full round follows and reads every object again: what was escrowed is simply dropped.
    run.escrowGeneration += 1;
    run.escrowCursor = null;
    run.escrowsDueAt = null;
  } else if (plan.escrows && run.escrowsPending) {
    // Without a full round, dropping the escrows would leave their objects wrong until they change again: their
    // failures are forgotten instead (back-off and counts start afresh), and each is retried on the next run.
    run.escrowsFresh = true;
    run.escrowCursor = null;
    run.escrowsDueAt = null;
  }
  if (plan.forceDeletes) run.forceDeletes = true;
  const status = { ...job.status };
  if (plan.quarantine) {
    status.quarantine = null;
    status.countSuccessiveCompleteFailures = 0;
  }
  if (plan.escrows) status.escrowsPruned = false;
  if (plan.links) status.synchronizedEntryCountByType = [];
  const restarted: StoredJob = {
    ...job,
    run,
    status,
    history: record(job, { action: 'restart', at: now, detail: scopeText || 'QuarantineState, Watermark, Escrows' }),
  };
  return activate(restarted, now);
}

/** A new schema (or back to the template's, null) means a new initial cycle; links are kept, so nothing doubles. */
export function changeSchema(job: StoredJob, schemaVersion: number | null, now: string): StoredJob {
  return {
    ...job,
    schemaVersion,
    run: { ...job.run, epoch: job.run.epoch + 1, watermark: null, cycle: null },
    history: record(job, { action: 'schema', at: now, detail: schemaVersion === null ? 'reset to the template' : `version ${schemaVersion}` }),
  };
}

/**
 * New job settings, merged by name (a value replaces the one of the same name, case-insensitively). A change of
 * what decides membership (flattening nested groups) means a new initial cycle, as a schema change does.
 */
export function changeSettings(job: StoredJob, settings: KeyValue[], now: string): StoredJob {
  const merged = [...job.synchronizationJobSettings];
  for (const setting of settings) {
    const at = merged.findIndex((known) => known.name.toLowerCase() === setting.name.toLowerCase());
    if (at >= 0) merged[at] = { name: merged[at]!.name, value: setting.value };
    else merged.push({ ...setting });
  }
  const flattening = (list: KeyValue[]) => jobSettingValue(list, FLATTEN_NESTED_GROUPS)?.toLowerCase() === 'true';
  const recompute = flattening(merged) !== flattening(job.synchronizationJobSettings);
  return {
    ...job,
    synchronizationJobSettings: merged,
    ...(recompute ? { run: { ...job.run, epoch: job.run.epoch + 1, watermark: null, cycle: null } } : {}),
    history: record(job, { action: 'patch', at: now, detail: `settings ${settings.map((setting) => setting.name).join(', ')}` }),
  };
}

export function changeInterval(job: StoredJob, intervalMinutes: number, now: string): StoredJob {
  return {
    ...job,
    intervalMinutes,
    schedule: { ...job.schedule, interval: formatInterval(intervalMinutes) },
    history: record(job, { action: 'patch', at: now, detail: `interval ${formatInterval(intervalMinutes)}` }),
  };
}
