import type { PurgeJobEvent } from '../schemas/sync-tick.ts';

/** The schedule that drives one deleted job's purge: it hands the worker `event` every `rateMinutes`. */
export interface PurgeScheduleSpec {
  /** ≤ 64 chars of `[0-9a-zA-Z-_.]` (see purgeScheduleNameFor); the same name as `event.scheduleName`. */
  name: string;
  rateMinutes: number;
  event: PurgeJobEvent;
}

/**
 * Schedules that keep invoking the worker for a purge until the worker removes them, so a purge that runs out of
 * time continues and one whose invocation failed is retried. Fails with SchedulesUnavailableError like JobSchedules.
 */
export interface PurgeSchedules {
  /** Creates the schedule; one of that name that exists already is kept (its name and event derive from the job). */
  ensurePurge(spec: PurgeScheduleSpec): Promise<void>;
  /** Removes it; a schedule that is already gone counts as removed. */
  remove(name: string): Promise<void>;
}
