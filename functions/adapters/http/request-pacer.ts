import { systemClock, type Clock } from '../../ports/clock.ts';
import { retryAfterMs } from './retry-policy.ts';
import { ThrottledError } from '../../ports/throttled-error.ts';

/** Tuning of a {@link RequestPacer}. */
export interface RequestPacerOptions {
  /** A ceiling the pacer never exceeds and starts at (the job setting `MaxRequestsPerSecond`); adaptive below it. */
  maxRequestsPerSecond?: number;
  /** Sending rate before anything is known of the target; default 10 requests/s (or the ceiling, when lower). */
  initialRequestsPerSecond?: number;
  sleep?: (ms: number) => Promise<void>;
  clock?: Clock;
  /**
   * The longest a Retry-After may hold a request here (the RetryPolicy's `maxWaitMs`, default 30 s): a longer one
   * ends it with ThrottledError, so the run pauses instead of the process.
   */
  maxWaitMs?: number;
}

/** What one attempt met: its HTTP status and its Retry-After header, if any. */
export interface PacedAnswer {
  status: number;
  retryAfter: string | null;
}

/** A cut keeps this share of the rate the target was found to accept. */
const backOff = 0.95;
/** Before the first throttle the rate doubles this often a second. */
const slowStartDoublingsPerSecond = 4;
/** After a cut, the rate grows by this share per second, and by as much again for every `probeAfterMs` unthrottled. */
const gentleGrowth = 0.01;
const probeAfterMs = 60_000;
/** The slowest the pacer goes on its own: one request every 20 s. */
const slowestRate = 0.05;
/** A target's bucket is taken to start full with about a second's worth of requests (see the first estimate). */
const assumedBurstMs = 1000;
/** How far back the accepted requests count towards an estimate. */
const estimateWindowMs = 60_000;

/**
 * Paces every attempt of one target's requests: a token bucket of our own and at most a second's worth of requests
 * in flight, so that a target that answers slowly is not piled upon. Without a ceiling the bucket holds a second's
 * worth, so that after a Retry-After the requests held go at once (the target's bucket refilled meanwhile: a hold of
 * a second after a brief overshoot costs nothing but the wait); with one, requests are spaced evenly, so that no
 * second sees more than the ceiling.
 *
 * The control law. Before the first throttle (a 429 or 503) the rate doubles four times a second (slow start). A throttle
 * estimates the rate the target accepts, as the requests it accepted since the previous throttle over the time since
 * (a token bucket's burst, spent between the two, is refilled between them too, so the two cancel out; the first
 * estimate counts from a second before the start, the burst a target's bucket typically starts with); the rate is cut
 * to 95% of that, but never below half the rate it had, so that a poor first estimate costs one more throttle rather
 * than minutes of slow climbing. Afterwards it grows gently, 1% a second, faster the longer no throttle came (to find
 * a limit that was raised), so that throttles are rare and the rate spends its time just below the target's. It
 * grows only while requests wait for it.
 *
 * Only the first throttle of requests sent after the last cut cuts again: the answers of requests already under way
 * say nothing new. A Retry-After holds the requests waiting here until it passes. On a 429 that is all it holds: the
 * {@link RetryPolicy} holds every later request (and the retry) until the same instant, so the two never add up; a
 * 503's Retry-After, which the policy honours for its own request only, holds every request here.
 */
export class RequestPacer {
  private readonly max: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: Clock;
  private readonly maxWaitMs: number;
  private rate: number;
  private slowStart: boolean;
  private tokens = 0;
  private filledAt: number | null = null;
  /** Until when a Retry-After holds, whom (every admission, or those waiting since before `heldAt`). */
  private holdUntil = 0;
  private heldAt = 0;
  private holdsAll = false;
  private inFlight = 0;
  private readonly freed: (() => void)[] = [];
  /** The latest deadline a sleep here woke at: time as this pacer knows it passed, whatever the clock says. */
  private slept = 0;
  /** When the rate was last grown, and when a request last had to wait for it (growth only while it binds). */
  private grownAt: number | null = null;
  private boundAt = -Infinity;
  /** The last throttle that cut the rate (or the assumed start of the first estimate). */
  private cutAt: number | null = null;
  /** The rate the target was last found to accept. */
  private estimate = Infinity;
  /** When each request accepted since `cutAt` was answered. */
  private readonly accepted: number[] = [];

  constructor(options: RequestPacerOptions = {}) {
    this.max = options.maxRequestsPerSecond ?? Infinity;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.clock = options.clock ?? systemClock;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
    this.rate = Math.min(this.max, options.initialRequestsPerSecond ?? 10);
    this.slowStart = this.max === Infinity;
  }

  /** The current sending rate, requests per second. */
  get requestsPerSecond(): number {
    return this.rate;
  }

  /** Runs one attempt when the pace allows it, and learns from its answer. */
  async run<T extends PacedAnswer>(attempt: () => Promise<T>): Promise<T> {
    const sentAt = await this.admit();
    let answer: T | null = null;
    try {
      answer = await attempt();
      return answer;
    } finally {
      this.settle(sentAt, answer);
    }
  }

  /** Waits until a request may go; returns when it went. */
  async admit(): Promise<number> {
    const arrived = this.now();
    for (;;) {
      const now = this.now();
      this.cutAt ??= now - assumedBurstMs;
      this.grow(now);
      this.refill(now);
      if (this.inFlight >= Math.max(1, Math.ceil(this.rate))) {
        await new Promise<void>((resolve) => this.freed.push(resolve));
        continue;
      }
      if (now < this.holdUntil && (this.holdsAll || arrived < this.heldAt)) {
        if (this.holdUntil - now > this.maxWaitMs) {
          // The next one waiting for a slot is woken too: it meets the same hold and ends the same way.
          this.freed.shift()?.();
          throw new ThrottledError(`not sent: the target asked to hold off ${Math.ceil((this.holdUntil - now) / 1000)} s`, 'target', new Date(this.holdUntil));
        }
        await this.wait(now, this.holdUntil - now);
        continue;
      }
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.inFlight += 1;
        return now;
      }
      this.boundAt = now;
      await this.wait(now, ((1 - this.tokens) * 1000) / this.rate);
    }
  }

  /** Records what a request admitted at `sentAt` met (null: no answer, e.g. the connection dropped). */
  settle(sentAt: number, answer: PacedAnswer | null): void {
    this.inFlight -= 1;
    this.freed.shift()?.();
    if (answer === null) return;
    const now = this.now();
    if (answer.status !== 429 && answer.status !== 503) {
      this.accepted.push(now);
      return;
    }
    const hold = retryAfterMs(answer.retryAfter, new Date(now));
    if (hold !== null && now + hold > this.holdUntil) {
      this.holdUntil = now + hold;
      this.heldAt = now;
      this.holdsAll = answer.status === 503;
    }
    if (this.cutAt !== null && sentAt < this.cutAt) return;
    this.cut(now);
  }

  private cut(now: number): void {
    const from = Math.max(this.cutAt ?? now - assumedBurstMs, now - estimateWindowMs);
    this.estimate = (this.accepted.filter((at) => at >= from).length * 1000) / Math.max(1, now - from);
    this.rate = Math.max(slowestRate, Math.min(this.max, Math.max(backOff * this.estimate, this.rate / 2)));
    this.tokens = Math.min(this.tokens, this.capacity());
    this.slowStart = false;
    this.cutAt = now;
    this.grownAt = now;
    this.accepted.length = 0;
  }

  private grow(now: number): void {
    const last = this.grownAt ?? now;
    this.grownAt = now;
    if (now - this.boundAt > 1000 || now <= last) return;
    const seconds = (now - last) / 1000;
    const unthrottled = now - (this.cutAt ?? now);
    const factor = this.slowStart ? 2 ** (seconds * slowStartDoublingsPerSecond) : 1 + gentleGrowth * (1 + unthrottled / probeAfterMs) * seconds;
    this.rate = Math.min(this.max, this.rate * factor);
  }

  private refill(now: number): void {
    if (this.filledAt === null) this.tokens = this.capacity();
    else this.tokens = Math.min(this.capacity(), this.tokens + ((now - this.filledAt) * this.rate) / 1000);
    this.filledAt = now;
  }

  /**
   * Without a ceiling, a second's worth, and no more than the target was last found to accept in a second (a burst
   * above that would meet the throttle at once); with one, a single request (even spacing).
   */
  private capacity(): number {
    return this.max === Infinity ? Math.max(1, Math.min(this.rate, this.estimate)) : 1;
  }

  /** Sleeps whole milliseconds (the clock's grain), at least one: a wait too short to see could never end. */
  private async wait(now: number, ms: number): Promise<void> {
    const whole = Math.max(1, Math.ceil(ms));
    await this.sleep(whole);
    this.slept = Math.max(this.slept, now + whole);
  }

  private now(): number {
    return Math.max(this.clock.now().getTime(), this.slept);
  }
}
