import { RequestPacer, type PacedAnswer, type RequestPacerOptions } from '../../functions/adapters/http/request-pacer.ts';
import { RetryPolicy, TransientFailure } from '../../functions/adapters/http/retry-policy.ts';
import type { Clock } from '../../functions/ports/clock.ts';
import { TokenBucket } from '../../local/scim-service/rate-limit.ts';
import { seededRandom } from '../model/virtual-time.ts';

/**
 * A discrete-event clock: `sleep` registers a timer, and `run` lets everything that is ready run, then moves time to
 * the earliest timer, so that many concurrent sleepers wake in the order of their deadlines, as in real time.
 */
export class EventClock implements Clock {
  private readonly timers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;

  constructor(private time = 0) {}

  now = (): Date => new Date(this.time);

  nowMs(): number {
    return this.time;
  }

  sleep = (ms: number): Promise<void> =>
    new Promise((wake) => {
      const timer = { at: this.time + Math.max(0, ms), seq: this.seq++, wake };
      let at = this.timers.length;
      while (at > 0 && this.timers[at - 1]!.at > timer.at) at -= 1;
      this.timers.splice(at, 0, timer);
    });

  /** Runs until no timer is left. */
  async run(): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const timer = this.timers.shift();
      if (timer === undefined) return;
      this.time = Math.max(this.time, timer.at);
      timer.wake();
    }
  }
}

/** A target's limit from `fromMs` on: a token bucket, answering 429 (or `status`) with Retry-After in whole seconds. */
export interface LimitPhase {
  fromMs: number;
  requestsPerSecond: number;
  burst?: number;
  status?: 429 | 503;
}

export interface SimulationOptions {
  limits: LimitPhase[];
  durationMs: number;
  workers?: number;
  /** How long the target takes to answer; default 5 ms. */
  latencyMs?: number;
  pacer?: Omit<RequestPacerOptions, 'clock' | 'sleep'>;
}

/** One answered request: when it was sent and its status. */
export interface SimulatedRequest {
  sentAt: number;
  status: number;
}

/**
 * Workers sending requests through a {@link RetryPolicy} and a {@link RequestPacer}, as HttpScimTarget does,
 * against a simulated rate-limited target, on an {@link EventClock}.
 */
export async function simulatePacedTarget(options: SimulationOptions) {
  const clock = new EventClock();
  const pacer = new RequestPacer({ ...options.pacer, clock, sleep: clock.sleep });
  const retries = new RetryPolicy('target', { clock, sleep: clock.sleep, random: seededRandom(7) });
  const buckets = options.limits.map((phase) => ({ phase, bucket: null as TokenBucket | null }));
  const requests: SimulatedRequest[] = [];
  const rates: { at: number; rate: number }[] = [];
  let gaveUp = 0;

  const answer = (): PacedAnswer => {
    const now = clock.nowMs();
    const current = buckets.filter(({ phase }) => phase.fromMs <= now).at(-1)!;
    current.bucket ??= new TokenBucket(current.phase, clock);
    const decision = current.bucket.take();
    if (decision.allowed) return { status: 201, retryAfter: null };
    return { status: current.phase.status ?? 429, retryAfter: String(decision.retryAfterSeconds) };
  };

  const worker = async () => {
    while (clock.nowMs() < options.durationMs) {
      try {
        await retries.run('POST /Users', async () => {
          const sent = await pacer.run(async () => {
            const sentAt = clock.nowMs();
            await clock.sleep(options.latencyMs ?? 5);
            const response = answer();
            requests.push({ sentAt, status: response.status });
            rates.push({ at: clock.nowMs(), rate: pacer.requestsPerSecond });
            return response;
          });
          if (sent.status >= 400) {
            throw new TransientFailure(`answered ${sent.status}`, { retryAfter: sent.retryAfter, throttled: sent.status === 429 });
          }
        });
      } catch {
        gaveUp += 1;
      }
    }
  };
  const workers = Promise.all(Array.from({ length: options.workers ?? 16 }, worker));
  await clock.run();
  await workers;

  /** Requests sent in [fromMs, toMs), and the share of them refused. */
  const between = (fromMs: number, toMs: number) => {
    const sent = requests.filter((request) => request.sentAt >= fromMs && request.sentAt < toMs);
    const accepted = sent.filter((request) => request.status < 400).length;
    return { sent: sent.length, acceptedPerSecond: (accepted * 1000) / (toMs - fromMs), refusedShare: (sent.length - accepted) / sent.length };
  };
  return { requests, rates, gaveUp, between, pacer };
}
