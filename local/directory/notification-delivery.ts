import type { Clock } from '../../functions/ports/clock.ts';

/** How notifications are sent, batched and retried; Graph's numbers unless a test or the stack says otherwise. */
export interface DeliveryOptions {
  /** Changes within this window go out together; default 50 ms. */
  batchWindowMs: number;
  /** Most notifications in one POST; default 100. */
  maxBatchSize: number;
  /** An answer later than this is a failure, as Graph's 3 s client timeout. */
  responseTimeoutMs: number;
  /** Failed notifications are retried for this long after the change, then dropped; Graph: 4 hours. */
  retryWindowMs: number;
  /** Delay before the first retry; each further retry waits twice as long, up to `maxRetryDelayMs`. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

interface Pending {
  url: string;
  subscriptionId: string;
  /** Equal keys of unsent notifications for one URL are one notification (a burst of changes of one object). */
  key: string;
  payload: unknown;
  /** Clock time (ms) of the change: the retry window runs from here. */
  queuedAt: number;
  dueAt: number;
  attempts: number;
}

/**
 * The outbox of change and lifecycle notifications. Queuing never waits for the network, so the directory's own
 * answers are never slowed by a subscriber. Sending runs on timers (the batch window, then the retry backoff),
 * one round at a time; a round sends every due notification, per URL in POSTs of at most `maxBatchSize`, as
 * `{"value":[...]}`. Which notifications are due is decided on the injected clock, so tests advance time without
 * sleeping and call `deliverNow`.
 */
export class NotificationDelivery {
  private pending: Pending[] = [];
  private rounds: Promise<void> = Promise.resolve();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly closing = new AbortController();

  constructor(
    private readonly clock: Clock,
    private readonly options: DeliveryOptions,
    /** False once a subscription is deleted or expired: its notifications are dropped unsent. */
    private readonly isLive: (subscriptionId: string) => boolean,
  ) {}

  get size(): number {
    return this.pending.length;
  }

  enqueue(url: string, subscriptionId: string, key: string, payload: unknown): void {
    if (this.pending.some((item) => item.attempts === 0 && item.url === url && item.key === key)) return;
    const now = this.clock.now().getTime();
    this.pending.push({ url, subscriptionId, key, payload, queuedAt: now, dueAt: now, attempts: 0 });
    this.schedule(this.options.batchWindowMs);
  }

  /** Resolves once every notification due now has been attempted (sent, or failed and rescheduled or dropped). */
  deliverNow(): Promise<void> {
    this.rounds = this.rounds.then(() => this.round());
    return this.rounds;
  }

  /** Stops sending: timers are cleared and requests in flight are aborted. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.closing.abort();
    await this.rounds;
  }

  private schedule(delayMs: number): void {
    if (this.closing.signal.aborted) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.deliverNow();
    }, delayMs);
    // A pending retry must not keep a process (or a test run) alive.
    timer.unref();
    this.timers.add(timer);
  }

  private async round(): Promise<void> {
    if (this.closing.signal.aborted) return;
    const now = this.clock.now().getTime();
    this.pending = this.pending.filter((item) => now - item.queuedAt < this.options.retryWindowMs && this.isLive(item.subscriptionId));
    const due = this.pending.filter((item) => item.dueAt <= now);
    const byUrl = new Map<string, Pending[]>();
    for (const item of due) byUrl.set(item.url, [...(byUrl.get(item.url) ?? []), item]);
    await Promise.all(
      [...byUrl].map(async ([url, items]) => {
        for (let start = 0; start < items.length; start += this.options.maxBatchSize) {
          const batch = items.slice(start, start + this.options.maxBatchSize);
          if (await this.post(url, batch.map((item) => item.payload))) {
            this.pending = this.pending.filter((item) => !batch.includes(item));
          } else {
            for (const item of batch) this.retryLater(item);
          }
        }
      }),
    );
  }

  private retryLater(item: Pending): void {
    item.attempts += 1;
    const delay = Math.min(this.options.retryDelayMs * 2 ** (item.attempts - 1), this.options.maxRetryDelayMs);
    item.dueAt = this.clock.now().getTime() + delay;
    this.schedule(delay);
  }

  /** True when the endpoint answered 2xx in time. */
  private async post(url: string, value: unknown[]): Promise<boolean> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ value }),
        signal: AbortSignal.any([AbortSignal.timeout(this.options.responseTimeoutMs), this.closing.signal]),
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 300;
    } catch {
      return false;
    }
  }
}
