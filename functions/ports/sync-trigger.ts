import type { SyncTick } from '../schemas/sync-tick.ts';

/** Starts a sync run now, without waiting for it (asynchronous Lambda invoke when deployed). */
export interface SyncTrigger {
  trigger(tick: SyncTick): Promise<void>;
}
