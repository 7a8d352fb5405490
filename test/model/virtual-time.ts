import { systemClock, type Clock } from '../../functions/ports/clock.ts';

/**
 * The model test's one time line. Waits pass at once (an adapter's back-off moves the clock instead of the test
 * sleeping), and concurrent waits that start at the same instant overlap instead of adding up. Every reading moves
 * it on by a millisecond, as work takes time: two moments the code tells apart (a round's start, an object seen in
 * an earlier round) never share a timestamp.
 */
export class VirtualClock implements Clock {
  constructor(private time: number) {}

  now = (): Date => new Date(++this.time);

  nowMs(): number {
    return this.time;
  }

  advance(ms: number): void {
    this.time += ms;
  }

  sleep = async (ms: number): Promise<void> => {
    const until = this.time + Math.max(0, ms);
    await Promise.resolve();
    if (until > this.time) this.time = until;
  };
}

/**
 * Makes every `systemClock` reader (the API's job commands, the local stack's services) read the virtual clock, so
 * that the API and the worker agree on time as they do deployed: a lease the worker set is judged by the API with
 * the same clock. Returns the undo.
 */
export function pinSystemClock(clock: Clock): () => void {
  const original = systemClock.now;
  systemClock.now = () => clock.now();
  return () => {
    systemClock.now = original;
  };
}

/** A small seeded PRNG (mulberry32): uniform [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
