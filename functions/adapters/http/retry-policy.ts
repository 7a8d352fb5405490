import { systemClock, type Clock } from '../../ports/clock.ts';
import { ThrottledError } from '../../ports/throttled-error.ts';

/** Tuning of a {@link RetryPolicy}; every adapter that talks to an outside system over HTTP takes these. */
export interface RetryPolicyOptions {
  /** Tries of one request, the first included; default 5. */
  maxAttempts?: number;
  /** First back-off step when the answer names no Retry-After; doubles per retry. Default 500 ms. */
  baseDelayMs?: number;
  /** Largest back-off step when the answer names no Retry-After. Default 10 s. */
  maxDelayMs?: number;
  /**
   * The longest one request may wait in this process, all its waits together (shared holds included). A longer
   * Retry-After ends the request at once with {@link ThrottledError}: the run pauses instead of the process.
   * Default 30 s.
   */
  maxWaitMs?: number;
  /** Waits between tries; injectable so that tests never wait. */
  sleep?: (ms: number) => Promise<void>;
  /** Reads "now" for holds, Retry-After dates and `retryAt`. */
  clock?: Clock;
  /** Uniform [0, 1) source for the back-off jitter. */
  random?: () => number;
}

/**
 * Thrown by one attempt of a request whose failure may pass if it is sent again: a 429, a 5xx, a timeout, a dropped
 * connection. {@link RetryPolicy.run} catches it; anything else an attempt throws passes through untouched.
 */
export class TransientFailure extends Error {
  /** The answer's Retry-After header (delta-seconds or an HTTP date), null when it had none. */
  readonly retryAfter: string | null;
  /** The system throttles the caller as a whole (429): every request of the policy holds off, not this one only. */
  readonly throttled: boolean;
  /** False when sending again could repeat what the system may already have done (a POST whose answer was lost). */
  readonly resendable: boolean;

  constructor(message: string, options: { retryAfter?: string | null; throttled?: boolean; resendable?: boolean } = {}) {
    super(message);
    this.name = 'TransientFailure';
    this.retryAfter = options.retryAfter ?? null;
    this.throttled = options.throttled ?? false;
    this.resendable = options.resendable ?? true;
  }
}

/**
 * Statuses that say "not now" rather than "not this": 408, 429 and the 5xx, except 501 and 505, which say the
 * system will never serve this request and so must not pause a run forever.
 */
export function isTransientStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/**
 * The Retry-After an answer of this status carries, if it means anything: RFC 9110 gives it meaning on a 503 (and
 * RFC 6585 on a 429). On any other failure a server's Retry-After is not a promise, so plain back-off applies and a
 * stray header cannot park a run.
 */
export function meaningfulRetryAfter(status: number, header: string | null): string | null {
  return status === 429 || status === 503 ? header : null;
}

/** A Retry-After beyond this is read as this: a misread or hostile header must not park a job for years. */
const longestRetryAfterMs = 24 * 60 * 60 * 1000;

/**
 * Retry-After (RFC 9110 §10.2.3) in milliseconds from `now`: delta-seconds or an HTTP date (a date in the past is
 * 0). Null when absent or unreadable, so that the caller backs off on its own.
 */
export function retryAfterMs(header: string | null | undefined, now: Date): number | null {
  const value = header?.trim() ?? '';
  if (value === '') return null;
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, longestRetryAfterMs);
  // An HTTP date always names its month or weekday; Date.parse alone would also take "1.5" for a date.
  if (!/[A-Za-z]{3}/.test(value)) return null;
  // The obsolete asctime form carries no zone but means GMT, as every HTTP date does.
  const date = Date.parse(/^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/.test(value) ? `${value} GMT` : value);
  if (Number.isNaN(date)) return null;
  return Math.min(Math.max(0, date - now.getTime()), longestRetryAfterMs);
}

/**
 * The one retry policy of the adapters that talk HTTP to the directory and to the target: exponential back-off with
 * full jitter, Retry-After honoured (seconds or HTTP date), a cap on tries and a cap on how long one request waits
 * in-process. A 429 holds back every request that goes through the same policy until its Retry-After has passed.
 *
 * When the tries are used up, or the system asks for a wait beyond the cap, the request ends with
 * {@link ThrottledError} whose `retryAt` is when the system said it would be ready (its Retry-After), or else the
 * back-off estimate: the run pauses until then, nothing about the object at hand is concluded.
 */
export class RetryPolicy {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxWaitMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Until when (epoch ms) the system asked every request to hold off. */
  private holdUntil = 0;

  constructor(
    private readonly system: ThrottledError['system'],
    options: RetryPolicyOptions = {},
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.maxWaitMs = options.maxWaitMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /**
   * Runs `attempt` until it returns, throws something other than {@link TransientFailure}, or the policy gives up
   * with {@link ThrottledError}. `what` names the request in messages, e.g. `GET /Users`.
   */
  async run<T>(what: string, attempt: (index: number) => Promise<T>): Promise<T> {
    let waited = 0;
    for (let index = 0; ; index += 1) {
      const hold = this.holdUntil - this.now();
      if (hold > 0) {
        if (waited + hold > this.maxWaitMs) {
          throw this.throttled(`${what}: not sent, the ${this.system} asked every request to hold off ${seconds(hold)}`, hold);
        }
        await this.sleep(hold);
        waited += hold;
      }
      try {
        return await attempt(index);
      } catch (error) {
        if (!(error instanceof TransientFailure)) throw error;
        const asked = retryAfterMs(error.retryAfter, this.clock.now());
        const delay = asked ?? this.backoff(index);
        // A throttled system is throttled for every request: the others hold off too instead of piling on.
        if (error.throttled) this.holdUntil = Math.max(this.holdUntil, this.now() + delay);
        if (!error.resendable) {
          throw this.throttled(`${error.message}; not sent again in-process, as the ${this.system} may have acted on it`, asked ?? this.ceiling(index));
        }
        if (index + 1 >= this.maxAttempts) {
          throw this.throttled(`${error.message} (after ${index + 1} attempts)`, asked ?? this.ceiling(index));
        }
        if (waited + delay > this.maxWaitMs) {
          throw this.throttled(`${error.message}; a wait of ${seconds(delay)} is longer than one request may wait in-process (${seconds(this.maxWaitMs)})`, delay);
        }
        if (!error.throttled) {
          await this.sleep(delay);
          waited += delay;
        }
      }
    }
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  private throttled(message: string, inMs: number): ThrottledError {
    return new ThrottledError(message, this.system, new Date(this.now() + inMs));
  }

  /** The longest back-off step after the attempt at `index` failed: base·2^index, capped. */
  private ceiling(index: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** index);
  }

  /** Full jitter: uniform in [0, ceiling], so that clients failing together do not come back together. */
  private backoff(index: number): number {
    return Math.round(this.random() * this.ceiling(index));
  }
}

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)} s`;
}
