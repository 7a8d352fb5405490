import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTransientStatus, retryAfterMs, RetryPolicy, TransientFailure, type RetryPolicyOptions } from '../../functions/adapters/http/retry-policy.ts';
import { ThrottledError } from '../../functions/ports/throttled-error.ts';

const now = new Date('2026-03-01T10:00:00.000Z');
const at = (ms: number) => new Date(now.getTime() + ms);

/** A policy on a clock that stands still unless a sleep moves it, recording every sleep. */
function policy(options: RetryPolicyOptions = {}, { clockMoves = false } = {}) {
  let time = now.getTime();
  const sleeps: number[] = [];
  const retries = new RetryPolicy('target', {
    clock: { now: () => new Date(time) },
    sleep: async (ms) => {
      sleeps.push(ms);
      if (clockMoves) time += ms;
    },
    random: () => 0.5,
    baseDelayMs: 100,
    ...options,
  });
  return { retries, sleeps };
}

/** An attempt that fails with each of `failures` in turn, then answers 'ok'; counts its calls. */
function scripted(...failures: TransientFailure[]) {
  const calls = { count: 0 };
  const attempt = async () => {
    const failure = failures[calls.count];
    calls.count += 1;
    if (failure) throw failure;
    return 'ok';
  };
  return { attempt, calls };
}

const answered = (status: number, retryAfter: string | null = null) =>
  new TransientFailure(`GET /Users answered ${status}`, { retryAfter, throttled: status === 429 });

describe('retryAfterMs (RFC 9110 §10.2.3)', () => {
  it.each<[string | null, number | null]>([
    ['3', 3000],
    [' 7 ', 7000],
    ['0', 0],
    [at(7000).toUTCString(), 7000],
    ['Sun, 01 Mar 2026 10:01:00 GMT', 60_000],
    ['Sunday, 01-Mar-26 10:01:00 GMT', 60_000],
    ['Sun Mar  1 10:01:00 2026', 60_000],
    [at(-5000).toUTCString(), 0],
    ['99999999999', 24 * 60 * 60 * 1000],
    ['1.5', null],
    ['-1', null],
    ['soon', null],
    ['', null],
    [null, null],
  ])('reads %j as %j ms', (header, expected) => {
    expect(retryAfterMs(header, now)).toBe(expected);
  });
});

describe('isTransientStatus', () => {
  it.each([408, 429, 500, 502, 503, 504, 599])('%i may pass when sent again', (status) => expect(isTransientStatus(status)).toBe(true));
  it.each([200, 400, 401, 403, 404, 409, 412, 501, 505])('%i does not', (status) => expect(isTransientStatus(status)).toBe(false));
});

describe('RetryPolicy', () => {
  it('returns the first answer and lets any other error through untouched, without retrying', async () => {
    const { retries, sleeps } = policy();
    await expect(retries.run('GET /Users', async () => 'ok')).resolves.toBe('ok');
    const refused = new Error('400');
    let calls = 0;
    await expect(retries.run('GET /Users', async () => { calls += 1; throw refused; })).rejects.toBe(refused);
    expect(calls).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('backs off exponentially with full jitter when the answer names no Retry-After', async () => {
    const randoms = [0.5, 0.25, 1 - Number.EPSILON, 0];
    const { retries, sleeps } = policy({ random: () => randoms.shift()!, maxAttempts: 5 });
    const { attempt, calls } = scripted(answered(500), answered(502), answered(503), answered(504));
    await expect(retries.run('GET /Users', attempt)).resolves.toBe('ok');
    // uniform in [0, 100 ms × 2^retry]
    expect(sleeps).toEqual([50, 50, 400, 0]);
    expect(calls.count).toBe(5);
  });

  it('caps one back-off step at maxDelayMs', async () => {
    const { retries, sleeps } = policy({ random: () => 0.999, maxDelayMs: 250, maxAttempts: 6, maxWaitMs: 10_000 });
    const { attempt } = scripted(...Array.from({ length: 5 }, () => answered(503)));
    await retries.run('GET /Users', attempt);
    expect(sleeps).toEqual([100, 200, 250, 250, 250]);
  });

  it('waits as long as Retry-After says, in seconds or as an HTTP date', async () => {
    const { retries, sleeps } = policy();
    const { attempt } = scripted(answered(503, '2'), answered(503, at(7000).toUTCString()));
    await expect(retries.run('GET /Users', attempt)).resolves.toBe('ok');
    expect(sleeps).toEqual([2000, 7000]);
  });

  it('ends a 429 with Retry-After 3600 at once: ThrottledError, retryAt one hour on, nothing sent again', async () => {
    const { retries, sleeps } = policy();
    const { attempt, calls } = scripted(answered(429, '3600'));
    const started = performance.now();
    const failure = await retries.run('POST /Users', attempt).catch((error: unknown) => error);
    expect(performance.now() - started).toBeLessThan(50);
    expect(failure).toBeInstanceOf(ThrottledError);
    expect(failure).toMatchObject({ system: 'target', retryAt: at(3_600_000), message: expect.stringMatching(/429.*3600 s/) });
    expect(calls.count).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('ends a 503 storm with ThrottledError after maxAttempts, retryAt the back-off estimate', async () => {
    const { retries, sleeps } = policy({ maxAttempts: 3 });
    const { attempt, calls } = scripted(...Array.from({ length: 10 }, () => answered(503)));
    const failure = await retries.run('GET /Users', attempt).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ThrottledError);
    // The next step would have been up to 100 ms × 2^2.
    expect(failure).toMatchObject({ system: 'target', retryAt: at(400), message: 'GET /Users answered 503 (after 3 attempts)' });
    expect(calls.count).toBe(3);
    expect(sleeps).toEqual([50, 100]);
  });

  it('takes retryAt from the last Retry-After when the attempts run out', async () => {
    const { retries } = policy({ maxAttempts: 2 });
    const { attempt } = scripted(answered(503, '1'), answered(503, '9'));
    await expect(retries.run('GET /Users', attempt)).rejects.toMatchObject({ retryAt: at(9000) });
  });

  it('stops once the waits of one request would pass maxWaitMs, whatever attempts are left', async () => {
    const { retries, sleeps } = policy({ maxWaitMs: 30_000, maxAttempts: 10 });
    const { attempt, calls } = scripted(answered(503, '20'), answered(503, '20'));
    await expect(retries.run('GET /Users', attempt)).rejects.toMatchObject({ name: 'ThrottledError', retryAt: at(20_000) });
    expect(sleeps).toEqual([20_000]);
    expect(calls.count).toBe(2);
  });

  it('does not send again what the system may have acted on', async () => {
    const { retries, sleeps } = policy();
    const { attempt, calls } = scripted(new TransientFailure('POST /Users: the request timed out', { resendable: false }));
    const failure = await retries.run('POST /Users', attempt).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ThrottledError);
    expect((failure as ThrottledError).message).toMatch(/timed out; not sent again/);
    expect((failure as ThrottledError).retryAt).toEqual(at(100));
    expect(calls.count).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it('holds every request of the policy back after a 429, not only the throttled one', async () => {
    const { retries, sleeps } = policy();
    const { attempt } = scripted(answered(429, '2'));
    await retries.run('POST /Users', attempt);
    // The clock stands still, so the system still asks to hold off: the next request waits before it is sent.
    await retries.run('GET /Users', async () => 'ok');
    expect(sleeps).toEqual([2000, 2000]);
  });

  it('does not hold others back after a 5xx', async () => {
    const { retries, sleeps } = policy();
    await retries.run('GET /Users', scripted(answered(503, '2')).attempt);
    await retries.run('GET /Groups', async () => 'ok');
    expect(sleeps).toEqual([2000]);
  });

  it('fails a request at once, unsent, when the shared hold is longer than it may wait', async () => {
    const { retries } = policy();
    await expect(retries.run('GET /Users', scripted(answered(429, '600')).attempt)).rejects.toBeInstanceOf(ThrottledError);
    let sent = false;
    const later = retries.run('PATCH /Users/1', async () => {
      sent = true;
      return 'ok';
    });
    await expect(later).rejects.toMatchObject({ name: 'ThrottledError', retryAt: at(600_000), message: expect.stringMatching(/not sent/) });
    expect(sent).toBe(false);
  });

  it('lets the hold pass once the clock has moved beyond it', async () => {
    const { retries, sleeps } = policy({}, { clockMoves: true });
    await retries.run('GET /Users', scripted(answered(429, '2')).attempt);
    await retries.run('GET /Groups', async () => 'ok');
    expect(sleeps).toEqual([2000]);
  });

  it('never waits longer than maxWaitMs, never tries more than maxAttempts, and gives up only with ThrottledError', async () => {
    const failure = fc.oneof(
      fc.constantFrom(429, 500, 503).map((status) => answered(status)),
      fc.tuple(fc.constantFrom(429, 503), fc.integer({ min: 0, max: 120 })).map(([status, after]) => answered(status, String(after))),
      fc.constant(new TransientFailure('GET /Users: the request timed out')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(failure, { maxLength: 8 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 60_000 }),
        async (failures, maxAttempts, maxWaitMs) => {
          const { retries, sleeps } = policy({ maxAttempts, maxWaitMs });
          const { attempt, calls } = scripted(...failures);
          const outcome = await retries.run('GET /Users', attempt).catch((error: unknown) => error);
          expect(sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(maxWaitMs);
          expect(calls.count).toBeLessThanOrEqual(maxAttempts);
          if (outcome !== 'ok') {
            expect(outcome).toBeInstanceOf(ThrottledError);
            expect((outcome as ThrottledError).retryAt.getTime()).toBeGreaterThanOrEqual(now.getTime());
          } else {
            expect(calls.count).toBe(failures.length + 1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
