import { MIN_DATE_TIME, type SynchronizationJob, type TaskExecution } from '../functions/schemas/graph.ts';

/** What a previous frame saw of the round in progress, to measure a rate between two counts. */
export interface Observation {
  completed: number;
  /** The server's time of that count (progressObservationDateTime), in epoch milliseconds. */
  observedAt: number;
  /** Objects per second, null until two counts of the same round were seen. */
  rate: number | null;
}

/** steady and quarantine end `watch --until-steady`; the others keep it watching. */
export type Phase = 'notStarted' | 'running' | 'steady' | 'paused' | 'quarantine';

export interface Frame {
  phase: Phase;
  line: string;
  /** Carried into the next frame; null when no round with a known total is in progress. */
  observation: Observation | null;
}

const BAR_WIDTH = 20;

/** Graph's times carry 7 fractional digits; seconds are enough to read. */
export function shortTime(iso: string): string {
  return iso.replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '');
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function ago(iso: string, now: number | null): string {
  if (now === null) return '';
  const seconds = (now - Date.parse(iso)) / 1000;
  return Number.isFinite(seconds) && seconds >= 1 ? ` (${duration(seconds)} ago)` : '';
}

function rateText(rate: number): string {
  return rate >= 10 || rate === 0 ? `${Math.round(rate)}/s` : `${rate.toFixed(1)}/s`;
}

function cycleSummary(execution: TaskExecution | null): string {
  if (!execution) return '';
  return ` · last cycle ${execution.state} at ${shortTime(execution.timeEnded)}: ${execution.countImported} imported, ${execution.countExported} exported${execution.countEscrowed > 0 ? `, ${execution.countEscrowed} escrowed` : ''}`;
}

function inSync(job: SynchronizationJob): string {
  const counts = job.status.synchronizedEntryCountByType;
  return counts.length === 0 ? '' : ` · in sync: ${counts.map(({ key, value }) => `${value} ${key}`).join(', ')}`;
}

/** Reached steady state and nothing since: no round in progress, and no run stopped after the last steady state. */
export function isSteady(job: SynchronizationJob): boolean {
  const { status } = job;
  if (status.code !== 'Active' || status.progress.length > 0) return false;
  if (status.steadyStateLastAchievedTime === MIN_DATE_TIME) return false;
  const ended = status.lastExecution ? Date.parse(status.lastExecution.timeEnded) : Number.NEGATIVE_INFINITY;
  return ended <= Date.parse(status.steadyStateLastAchievedTime);
}

function measure(previous: Observation | null, completed: number, observedAt: number): Observation {
  if (!previous || completed < previous.completed) return { completed, observedAt, rate: null };
  // The same count seen again: the worker has not reported since, so the last rate still holds.
  if (observedAt === previous.observedAt) return { ...previous, completed };
  if (observedAt < previous.observedAt) return { completed, observedAt, rate: null };
  return { completed, observedAt, rate: (completed - previous.completed) / ((observedAt - previous.observedAt) / 1000) };
}

function progressLine(job: SynchronizationJob, previous: Observation | null): Frame | null {
  const progress = job.status.progress[0];
  if (!progress) return null;
  const { completedUnits: done, totalUnits: total, units } = progress;
  const observation = measure(previous, done, Date.parse(progress.progressObservationDateTime));
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(fraction * BAR_WIDTH);
  const left = Math.max(0, total - done);
  const parts = [
    `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${done}/${total} ${units}`,
  ];
  if (observation.rate !== null) parts.push(rateText(observation.rate));
  parts.push(
    observation.rate !== null && observation.rate > 0 && left > 0
      ? `${left} left, about ${duration(left / observation.rate)}`
      : `${left} left`,
  );
  return { phase: 'running', line: parts.join(' · '), observation };
}

/**
 * One line about a job's current cycle, from its Graph JSON: a progress bar while a full round with a known total
 * runs, steady state, quarantine with its reason, paused, or what the last cycle did. Pure: `now` only dates
 * "(2 min ago)", and null leaves that out (plain output prints a line only when it changes).
 */
export function renderFrame(previous: Observation | null, job: SynchronizationJob, now: number | null): Frame {
  const { status } = job;
  const quarantine = status.quarantine;
  if (status.code === 'Quarantine' && quarantine) {
    const error = quarantine.error ? `: ${quarantine.error.code}: ${quarantine.error.message}` : '';
    return {
      phase: 'quarantine',
      line: `quarantine (${quarantine.reason})${error} · next attempt ${shortTime(quarantine.nextAttempt)}`,
      observation: null,
    };
  }
  if (status.code === 'Paused') return { phase: 'paused', line: `paused${cycleSummary(status.lastExecution)}`, observation: null };
  if (status.code === 'NotConfigured') {
    return { phase: 'notStarted', line: `not started (schedule ${job.schedule.state})`, observation: null };
  }
  const progress = progressLine(job, previous);
  if (progress) return progress;
  if (isSteady(job)) {
    const since = status.steadyStateLastAchievedTime;
    return {
      phase: 'steady',
      line: `steady state since ${shortTime(since)}${ago(since, now)}${inSync(job)}${cycleSummary(status.lastExecution)}`,
      observation: null,
    };
  }
  const last = status.lastExecution;
  if (!last) return { phase: 'running', line: 'waiting for the first cycle', observation: null };
  // A run that stopped early (throttled, an outage): the round goes on with the next run.
  const detail =
    last.state === 'Failed' && last.error
      ? ` · last run stopped at ${shortTime(last.timeEnded)}: ${last.error.code}: ${last.error.message}`
      : cycleSummary(last);
  return { phase: 'running', line: `cycle in progress${detail}`, observation: null };
}
