import { describe, expect, it } from 'vitest';
import { emptyStatus } from '../../functions/domain/job-lifecycle.ts';
import type { SynchronizationJob, SynchronizationStatus, TaskExecution } from '../../functions/schemas/graph.ts';
import { isSteady, renderFrame } from '../../cli/progress.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

function job(status: Partial<SynchronizationStatus>, scheduleState: SynchronizationJob['schedule']['state'] = 'Active'): SynchronizationJob {
  return {
    id: 'scim.0123.tenant',
    templateId: 'scim',
    schedule: { expiration: null, interval: 'PT1M', state: scheduleState },
    status: { ...emptyStatus(), code: 'Active', ...status },
    synchronizationJobSettings: [],
    metadata: [],
  };
}

function execution(ended: string, overrides: Partial<TaskExecution> = {}): TaskExecution {
  return {
    activityIdentifier: 'cycle-1',
    countEntitled: 15,
    countEntitledForProvisioning: 15,
    countEscrowed: 0,
    countEscrowedRaw: 0,
    countExported: 14,
    countExports: 14,
    countImported: 15,
    countImportedDeltas: 15,
    countImportedReferenceDeltas: 0,
    error: null,
    state: 'Succeeded',
    timeBegan: at(0),
    timeEnded: ended,
    ...overrides,
  };
}

const progressAt = (completedUnits: number, seconds: number, totalUnits = 1000) =>
  job({ code: 'NotRun', progress: [{ completedUnits, totalUnits, units: 'objects', progressObservationDateTime: at(seconds) }] });

describe('the watch line', () => {
  it('draws a full round with a known total as a bar with its percentage and what is left', () => {
    const frame = renderFrame(null, progressAt(250, 10), T0 + 10_000);
    expect(frame.phase).toBe('running');
    expect(frame.line).toBe('[#####---------------]  25% · 250/1000 objects · 750 left');
    expect(frame.observation).toEqual({ completed: 250, observedAt: T0 + 10_000, rate: null });
  });

  it('measures the rate between two observations of the server and estimates the time left from it', () => {
    const first = renderFrame(null, progressAt(250, 10), T0 + 10_000);
    const second = renderFrame(first.observation, progressAt(450, 12), T0 + 12_500);
    expect(second.line).toBe('[#########-----------]  45% · 450/1000 objects · 100/s · 550 left, about 6 s');
    // Polled again before the worker reported: the same count keeps the rate, not 0/s.
    const third = renderFrame(second.observation, progressAt(450, 12), T0 + 13_500);
    expect(third.line).toContain('· 100/s ·');
    expect(third.observation?.rate).toBe(100);
  });

  it('shows a slow rate with a decimal and the time left in seconds', () => {
    const first = renderFrame(null, progressAt(990, 0), T0);
    const second = renderFrame(first.observation, progressAt(995, 2), T0 + 2000);
    expect(second.line).toBe('[####################]  99% · 995/1000 objects · 2.5/s · 5 left, about 2 s');
  });

  it('starts the rate afresh when a new round begins (the count goes down)', () => {
    const first = renderFrame(null, progressAt(900, 0), T0);
    const second = renderFrame(first.observation, progressAt(10, 5), T0 + 5000);
    expect(second.observation?.rate).toBeNull();
    expect(second.line).not.toContain('/s');
  });

  it('says steady state, since when, what is in sync and what the last cycle did', () => {
    const steady = job({
      steadyStateFirstAchievedTime: at(0),
      steadyStateLastAchievedTime: at(30),
      lastExecution: execution(at(30)),
      synchronizedEntryCountByType: [
        { key: 'User', value: 12 },
        { key: 'Group', value: 3 },
      ],
    });
    const frame = renderFrame(null, steady, T0 + 150_000);
    expect(frame.phase).toBe('steady');
    expect(frame.line).toBe(
      'steady state since 2026-03-02T10:00:30Z (2 min ago) · in sync: 12 User, 3 Group · last cycle Succeeded at 2026-03-02T10:00:30Z: 15 imported, 14 exported',
    );
    // Without a clock (plain output, a line per change) the line does not change as time passes.
    expect(renderFrame(null, steady, null).line).toMatch(/^steady state since 2026-03-02T10:00:30Z · in sync/);
  });

  it('is not steady while a run that stopped after the last steady state has a round to finish', () => {
    const stopped = job({
      steadyStateFirstAchievedTime: at(0),
      steadyStateLastAchievedTime: at(30),
      lastExecution: execution(at(90), {
        state: 'Failed',
        error: { code: 'Throttled', message: 'The target asked to wait until 10:05.', tenantActionable: false },
      }),
    });
    expect(isSteady(stopped)).toBe(false);
    const frame = renderFrame(null, stopped, T0 + 100_000);
    expect(frame.phase).toBe('running');
    expect(frame.line).toBe('cycle in progress · last run stopped at 2026-03-02T10:01:30Z: Throttled: The target asked to wait until 10:05.');
  });

  it('names the quarantine reason, its error and the next attempt', () => {
    const quarantined = job({
      code: 'Quarantine',
      quarantine: {
        currentBegan: at(60),
        nextAttempt: '2026-03-02T10:03:00.0000000Z',
        reason: 'EncounteredQuarantineException',
        seriesBegan: at(60),
        seriesCount: 0,
        error: { code: 'CredentialsRejected', message: 'The target answered 401 to the secret token.', tenantActionable: true },
      },
    });
    const frame = renderFrame(null, quarantined, T0 + 61_000);
    expect(frame.phase).toBe('quarantine');
    expect(frame.line).toBe(
      'quarantine (EncounteredQuarantineException): CredentialsRejected: The target answered 401 to the secret token. · next attempt 2026-03-02T10:03:00Z',
    );
  });

  it('says paused, not started and waiting', () => {
    expect(renderFrame(null, job({ code: 'Paused', lastExecution: execution(at(30)) }, 'Paused'), T0).line).toBe(
      'paused · last cycle Succeeded at 2026-03-02T10:00:30Z: 15 imported, 14 exported',
    );
    expect(renderFrame(null, job({ code: 'NotConfigured' }, 'Disabled'), T0)).toMatchObject({ phase: 'notStarted', line: 'not started (schedule Disabled)' });
    expect(renderFrame(null, job({ code: 'NotRun' }), T0)).toMatchObject({ phase: 'running', line: 'waiting for the first cycle' });
  });
});
