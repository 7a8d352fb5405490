import { describe, expect, it } from 'vitest';
import { scheduleNameFor } from '../../functions/domain/ids.ts';
import {
  changeInterval,
  createJob,
  pauseJob,
  restartJob,
  startJob,
  statusCodeOf,
  toGraphJob,
} from '../../functions/domain/job-lifecycle.ts';
import { parseResetScope } from '../../functions/domain/reset-scope.ts';
import { scimTemplate } from '../../functions/domain/templates.ts';
import { MIN_DATE_TIME, synchronizationJobSchema } from '../../functions/schemas/graph.ts';
import { storedJobSchema, type StoredJob } from '../../functions/schemas/stored-job.ts';

const T0 = '2026-03-02T10:00:00.000Z';
const T1 = '2026-03-02T11:00:00.000Z';
const TENANT = '00000000-0000-4000-8000-000000000001';

function newJob(): StoredJob {
  return createJob({
    tenantId: TENANT,
    servicePrincipalId: 'app',
    template: scimTemplate,
    intervalMinutes: 40,
    randomHex32: 'ab'.repeat(16),
    now: T0,
  });
}

function quarantined(job: StoredJob): StoredJob {
  return {
    ...job,
    status: {
      ...job.status,
      countSuccessiveCompleteFailures: 4,
      quarantine: {
        currentBegan: T0,
        nextAttempt: T1,
        reason: 'EncounteredQuarantineException',
        seriesBegan: T0,
        seriesCount: 2,
        error: null,
      },
    },
  };
}

describe('job lifecycle', () => {
  it('creates a disabled, never-run job with Graph id and a schedule name derived from it', () => {
    const job = newJob();
    expect(storedJobSchema.parse(job)).toEqual(job);
    expect(job.id).toBe(`scim.${'ab'.repeat(16)}.${TENANT}`);
    expect(job.scheduleName).toBe(scheduleNameFor(TENANT, job.id));
    expect(job.scheduleName).toMatch(/^[0-9a-zA-Z_.-]{1,64}$/);
    expect(job.schedule).toEqual({ expiration: null, interval: 'PT40M', state: 'Disabled' });
    expect(statusCodeOf(job)).toBe('NotConfigured');
    expect(job.history).toEqual([{ action: 'create', at: T0 }]);
    expect(synchronizationJobSchema.parse(toGraphJob(job))).toEqual(toGraphJob(job));
  });

  it('does not share settings or metadata objects with the template', () => {
    const job = newJob();
    job.synchronizationJobSettings[0]!.value = 'changed';
    expect(scimTemplate.jobSettings[0]!.value).not.toBe('changed');
  });

  it.each([
    ['a new job', (job: StoredJob) => job, 'NotConfigured'],
    ['a started job', (job: StoredJob) => startJob(job, T1), 'NotRun'],
    [
      'a started job in its first cycle (a long initial sync)',
      (job: StoredJob) => {
        const started = startJob(job, T1);
        const throttled = {
          activityIdentifier: 'cycle-1',
          countEntitled: 10,
          countEntitledForProvisioning: 10,
          countEscrowed: 0,
          countEscrowedRaw: 0,
          countExported: 10,
          countExports: 10,
          countImported: 10,
          countImportedDeltas: 0,
          countImportedReferenceDeltas: 0,
          error: { code: 'TargetThrottled', message: 'GET /Users answered 429', tenantActionable: false },
          state: 'Failed' as const,
          timeBegan: T1,
          timeEnded: T1,
        };
        return { ...started, status: { ...started.status, lastExecution: throttled } };
      },
      'Active',
    ],
    ['a started job after steady state', (job: StoredJob) => ({ ...startJob(job, T1), status: { ...job.status, steadyStateFirstAchievedTime: T1 } }), 'Active'],
    ['a paused job', (job: StoredJob) => pauseJob(startJob(job, T1), T1), 'Paused'],
    ['an active job in quarantine', (job: StoredJob) => quarantined({ ...job, schedule: { ...job.schedule, state: 'Active' } }), 'Quarantine'],
  ])('shows %s as %s', (_name, build, code) => {
    const job = build(newJob());
    expect(statusCodeOf(job)).toBe(code);
    expect(toGraphJob(job).status.code).toBe(code);
  });

  it('start activates, lifts quarantine, and starts a new epoch only when it lifted one', () => {
    const plain = startJob(newJob(), T1);
    expect(plain.schedule.state).toBe('Active');
    expect(plain.run.epoch).toBe(0);
    expect(plain.history.at(-1)).toEqual({ action: 'start', at: T1 });

    const lifted = startJob(quarantined(newJob()), T1);
    expect(lifted.status.quarantine).toBeNull();
    expect(lifted.status.countSuccessiveCompleteFailures).toBe(0);
    expect(lifted.run.epoch).toBe(1);
  });

  it('start on a job with a run in progress asks that run to go on; pause withdraws the request', () => {
    const leased: StoredJob = { ...newJob(), run: { ...newJob().run, leaseOwner: 'worker-1', leaseUntil: T1 } };
    const started = startJob(leased, T0);
    expect(started.run.rerunRequested).toBe(true);
    const paused = pauseJob(started, T1);
    expect(paused.run.rerunRequested).toBe(false);
    expect(paused.schedule.state).toBe('Paused');
    expect(paused.status.code).toBe('Paused');
  });

  it('start after a crashed run (its lease expired) does not wait for that run', () => {
    const stale: StoredJob = { ...newJob(), run: { ...newJob().run, leaseOwner: 'crashed-worker', leaseUntil: T0 } };
    expect(startJob(stale, T1).run.rerunRequested).toBe(false);
  });

  it('pause keeps progress so a later start continues', () => {
    const progressed: StoredJob = { ...startJob(newJob(), T0), run: { ...newJob().run, watermark: 'w-42', linkGeneration: 3 } };
    const resumed = startJob(pauseJob(progressed, T1), T1);
    expect(resumed.run.watermark).toBe('w-42');
    expect(resumed.run.linkGeneration).toBe(3);
    expect(resumed.intervalMinutes).toBe(40);
  });

  it.each([
    // A full round that keeps the links reads the target back; one with new links matches everything anyway.
    ['', { watermark: null, links: 0, escrows: 1, fresh: false, readBack: true }],
    ['None', { watermark: 'w-42', links: 0, escrows: 0, fresh: false, readBack: false }],
    ['Watermark', { watermark: null, links: 0, escrows: 0, fresh: false, readBack: true }],
    // Without a full round to read them again, escrows are retried afresh rather than dropped.
    ['Escrows', { watermark: 'w-42', links: 0, escrows: 0, fresh: true, readBack: false }],
    ['ConnectorDataStore', { watermark: null, links: 1, escrows: 0, fresh: false, readBack: false }],
    ['Full', { watermark: null, links: 1, escrows: 1, fresh: false, readBack: false }],
  ])('restart with %j clears what it names and activates', (scope, expected) => {
    const before: StoredJob = {
      ...quarantined(newJob()),
      run: { ...newJob().run, watermark: 'w-42', escrowsPending: true },
      status: { ...quarantined(newJob()).status, synchronizedEntryCountByType: [{ key: 'user', value: 3 }], escrowsPruned: true },
    };
    const plan = parseResetScope(scope);
    if (!plan) throw new Error(`plan for ${scope}`);
    const after = restartJob(before, plan, scope, T1);
    expect(after.schedule.state).toBe('Active');
    expect(after.run.epoch).toBeGreaterThan(before.run.epoch);
    expect(after.run.watermark).toBe(expected.watermark);
    expect(after.run.linkGeneration).toBe(expected.links);
    expect(after.run.escrowGeneration).toBe(expected.escrows);
    expect(after.run.escrowsFresh).toBe(expected.fresh);
    expect(after.run.reconcileRequested).toBe(expected.readBack);
    expect(after.status.synchronizedEntryCountByType).toEqual(expected.links ? [] : [{ key: 'user', value: 3 }]);
    // Every restart activates, and activating lifts quarantine whatever the flags say.
    expect(after.status.quarantine).toBeNull();
    expect(after.history.at(-1)?.action).toBe('restart');
  });

  it('changes the interval and renders it as Graph does', () => {
    const job = changeInterval(newJob(), 90, T1);
    expect(job.intervalMinutes).toBe(90);
    expect(job.schedule.interval).toBe('PT1H30M');
    expect(job.schedule.state).toBe('Disabled');
    expect(job.history.at(-1)).toEqual({ action: 'patch', at: T1, detail: 'interval PT1H30M' });
  });

  it('keeps only the newest 20 transitions', () => {
    let job = newJob();
    for (let i = 0; i < 30; i += 1) job = i % 2 ? pauseJob(job, `2026-03-02T10:${String(i).padStart(2, '0')}:00.000Z`) : startJob(job, T1);
    expect(job.history).toHaveLength(20);
    expect(job.history.at(-1)?.action).toBe('pause');
    expect(job.history.some((transition) => transition.action === 'create')).toBe(false);
  });

  it('never reports steady state for a job that has not reached it', () => {
    expect(newJob().status.steadyStateFirstAchievedTime).toBe(MIN_DATE_TIME);
  });
});
