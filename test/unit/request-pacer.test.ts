import { describe, expect, it } from 'vitest';
import { RequestPacer } from '../../functions/adapters/http/request-pacer.ts';
import { EventClock, simulatePacedTarget } from '../support/paced-target-simulation.ts';

// Sixteen workers send through a RetryPolicy and the pacer, as HttpScimTarget does, into a simulated target with a
// token bucket (burst = a second's worth, Retry-After in whole seconds); all on a virtual clock.
describe('RequestPacer against a rate-limited target', () => {
  it.each([20, 200])('sustains nine tenths of a %i/s limit, found from nothing, with at most one request in a hundred answered 429', async (limit) => {
    const durationMs = limit === 20 ? 300_000 : 120_000;
    const run = await simulatePacedTarget({ limits: [{ fromMs: 0, requestsPerSecond: limit }], durationMs });
    const whole = run.between(0, durationMs);
    expect(whole.acceptedPerSecond).toBeGreaterThanOrEqual(0.9 * limit);
    expect(whole.refusedShare).toBeLessThanOrEqual(0.01);
    expect(run.gaveUp).toBe(0);
  });

  it('never sends more than maxRequestsPerSecond in any second, starting at it', async () => {
    const run = await simulatePacedTarget({ limits: [{ fromMs: 0, requestsPerSecond: 50 }], durationMs: 30_000, pacer: { maxRequestsPerSecond: 10 } });
    const sent = run.requests.map((request) => request.sentAt);
    for (const from of sent) expect(sent.filter((at) => at >= from && at < from + 1000).length).toBeLessThanOrEqual(10);
    expect(run.between(0, 1000).sent).toBe(10);
    expect(run.between(0, 30_000).acceptedPerSecond).toBeGreaterThanOrEqual(9.9);
  });

  it('keeps a fractional ceiling: 0.27/s (1,000 an hour) sends one request every 3.7 s', async () => {
    const run = await simulatePacedTarget({ limits: [{ fromMs: 0, requestsPerSecond: 1 }], durationMs: 600_000, pacer: { maxRequestsPerSecond: 0.27 } });
    const sent = run.requests.map((request) => request.sentAt);
    expect(Math.min(...sent.slice(1).map((at, index) => at - sent[index]!))).toBeGreaterThanOrEqual(3703);
    expect(sent.length).toBeGreaterThanOrEqual(161);
    expect(run.requests.every((request) => request.status === 201)).toBe(true);
  });

  it('climbs back when the limit rises, and comes down when it falls', async () => {
    const rising = await simulatePacedTarget({
      limits: [
        { fromMs: 0, requestsPerSecond: 20 },
        { fromMs: 60_000, requestsPerSecond: 60 },
      ],
      durationMs: 180_000,
    });
    expect(rising.between(120_000, 180_000).acceptedPerSecond).toBeGreaterThanOrEqual(0.85 * 60);
    const falling = await simulatePacedTarget({
      limits: [
        { fromMs: 0, requestsPerSecond: 60 },
        { fromMs: 60_000, requestsPerSecond: 20 },
      ],
      durationMs: 180_000,
    });
    const after = falling.between(90_000, 180_000);
    expect(after.acceptedPerSecond).toBeGreaterThanOrEqual(0.9 * 20);
    expect(after.refusedShare).toBeLessThanOrEqual(0.01);
  });

  it('backs off on 503 with Retry-After as on 429', async () => {
    const run = await simulatePacedTarget({ limits: [{ fromMs: 0, requestsPerSecond: 20, status: 503 }], durationMs: 120_000 });
    const whole = run.between(0, 120_000);
    expect(whole.acceptedPerSecond).toBeGreaterThanOrEqual(0.9 * 20);
    expect(whole.refusedShare).toBeLessThanOrEqual(0.01);
  });
});

describe('RequestPacer', () => {
  it('holds the requests waiting in it until a Retry-After has passed, and cuts the pace once per throttle', async () => {
    const clock = new EventClock();
    const pacer = new RequestPacer({ clock, sleep: clock.sleep, initialRequestsPerSecond: 4 });
    const sentAt: number[] = [];
    const answers = [{ status: 503, retryAfter: '3' }, { status: 503, retryAfter: '3' }];
    const send = () =>
      pacer.run(async () => {
        sentAt.push(clock.nowMs());
        await clock.sleep(10);
        return answers.shift() ?? { status: 200, retryAfter: null };
      });
    const sending = Promise.all(Array.from({ length: 6 }, send));
    await clock.run();
    await sending;
    // A second's worth (4) went at once; the two 503s held the other two 3 s and cut the pace once, to half (2/s),
    // which is also about what the target accepted: the two go 500 ms apart.
    expect(sentAt).toEqual([0, 0, 0, 0, 3010, 3510]);
    expect(pacer.requestsPerSecond).toBeCloseTo(2, 1);
  });
});
