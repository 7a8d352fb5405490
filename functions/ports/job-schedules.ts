import type { SyncTick } from '../schemas/sync-tick.ts';

/** The schedule of one job, as this service wants it to be. */
export interface JobScheduleSpec {
  /** Deterministic, ≤ 64 chars of `[0-9a-zA-Z-_.]` (see scheduleNameFor). */
  name: string;
  rateMinutes: number;
  enabled: boolean;
  /** What each tick hands the sync worker (the adapter adds the scheduled time). */
  tick: Omit<SyncTick, 'scheduledTime' | 'trigger'>;
}

export interface ScheduleView {
  name: string;
  rateMinutes: number;
  enabled: boolean;
}

/** Raised when the scheduling service is unavailable or throttling; the caller answers 503 + Retry-After. */
export class SchedulesUnavailableError extends Error {
  constructor(message: string, readonly retryAfterSeconds = 5) {
    super(message);
    this.name = 'SchedulesUnavailableError';
  }
}

/** One recurring schedule per job that fires the sync worker (EventBridge Scheduler when deployed). */
export interface JobSchedules {
  /** Creates the schedule or replaces it whole; idempotent. */
  put(spec: JobScheduleSpec): Promise<void>;
  /** Removes it; a schedule that is already gone counts as removed. */
  remove(name: string): Promise<void>;
  get(name: string): Promise<ScheduleView | null>;
}
