import { describe, expect, it } from 'vitest';
import { describeFailure, errorCodes, isTimeout, unreachableReason } from '../../functions/adapters/http/transport-errors.ts';

const coded = (code: string, message = `${code} happened`) => Object.assign(new Error(message), { code });
/** The shape fetch rejects with: a TypeError whose cause is undici's error. */
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });

describe('transport errors, as undici request and fetch report them', () => {
  it.each<[string, unknown, string | null]>([
    ['a refused connection behind fetch', fetchFailed(coded('ECONNREFUSED')), 'cannot be reached (ECONNREFUSED)'],
    ['an unknown host', coded('ENOTFOUND'), 'cannot be reached (ENOTFOUND)'],
    ['every address of a dual-stack host refused', fetchFailed(new AggregateError([coded('ECONNREFUSED'), coded('ENETUNREACH')])), 'cannot be reached (ECONNREFUSED)'],
    ['a non-public address refused at connect time', fetchFailed(coded('ENOTALLOWED', 'localhost resolves to a non-public address')), 'is at an address that is not allowed (localhost resolves to a non-public address)'],
    ['an expired certificate', coded('CERT_HAS_EXPIRED'), 'presented a TLS certificate that was refused (CERT_HAS_EXPIRED)'],
    ['a dropped connection', fetchFailed(coded('UND_ERR_SOCKET')), null],
    ['a reset', coded('ECONNRESET'), null],
    ['a timeout', coded('UND_ERR_HEADERS_TIMEOUT'), null],
    ['something without a code', new Error('boom'), null],
    ['not an error at all', 'boom', null],
  ])('%s: unreachable = %j', (_, error, reason) => {
    expect(unreachableReason(error)).toBe(reason);
  });

  it.each<[string, unknown, string]>([
    ['fetch aborted by AbortSignal.timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'the request timed out'],
    ['undici headers timeout', coded('UND_ERR_HEADERS_TIMEOUT'), 'the request timed out'],
    ['undici body timeout behind fetch', fetchFailed(coded('UND_ERR_BODY_TIMEOUT')), 'the request timed out'],
    ['a reset', fetchFailed(coded('ECONNRESET')), 'the connection failed (ECONNRESET)'],
    ['no code', new Error('boom'), 'the request failed (boom)'],
  ])('describes %s as %j', (_, error, description) => {
    expect(describeFailure(error)).toBe(description);
  });

  it('tells timeouts from other failures', () => {
    expect(isTimeout(fetchFailed(coded('UND_ERR_CONNECT_TIMEOUT')))).toBe(true);
    expect(isTimeout(coded('ECONNRESET'))).toBe(false);
  });

  it('follows a cause chain that loops back on itself only so far', () => {
    const looping = coded('ECONNRESET');
    (looping as Error & { cause?: unknown }).cause = looping;
    expect(errorCodes(looping).length).toBeLessThanOrEqual(6);
    expect(unreachableReason(looping)).toBeNull();
  });
});
