import { systemClock, type Clock } from '../../functions/ports/clock.ts';

/** A request rate a target allows, as SaaS targets enforce one: `requestsPerSecond`, with bursts of up to `burst`. */
export interface RateLimitOptions {
  requestsPerSecond: number;
  /** Requests that may come at once after a quiet spell; default a second's worth (`requestsPerSecond`), at least 1. */
  burst?: number;
}

/** Whether a request may be served now; if not, the whole seconds to give as Retry-After. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A token bucket: it holds up to `burst` tokens, gains `requestsPerSecond` of them a second, and every request
 * served takes one; a request that finds none is refused (and takes none). Starts full.
 */
export class TokenBucket {
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private updatedAt: number;

  constructor(
    options: RateLimitOptions,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(options.requestsPerSecond > 0)) throw new Error('A rate limit needs a positive requestsPerSecond.');
    this.rate = options.requestsPerSecond;
    this.burst = Math.max(1, options.burst ?? options.requestsPerSecond);
    this.tokens = this.burst;
    this.updatedAt = clock.now().getTime();
  }

  take(): RateDecision {
    const now = this.clock.now().getTime();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.rate) / 1000);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true };
    }
    // Real services name whole seconds: the client learns when to come back, not how little it missed by.
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.rate)) };
  }
}
