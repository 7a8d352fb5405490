import { afterEach, describe, expect, it } from 'vitest';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { parseLocalEnv } from '../../local/local-config.ts';

const token = 'rate-limit-test-token';
const errorSchema = 'urn:ietf:params:scim:api:messages:2.0:Error';

describe('local SCIM service with a rate limit', () => {
  let service: LocalScimService | undefined;
  let time = Date.parse('2026-03-01T10:00:00.000Z');
  const clock = { now: () => new Date(time) };

  afterEach(async () => {
    await service?.close();
    service = undefined;
  });

  const get = async (headers: Record<string, string> = {}) => {
    const response = await fetch(`${service!.url}/Users?count=1`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
  };

  it('serves a burst, then answers 429 with a SCIM error and Retry-After in whole seconds until a token is back', async () => {
    service = await startLocalScimService({ token, clock, rateLimit: { requestsPerSecond: 2, burst: 3 } });
    for (let served = 0; served < 3; served += 1) expect((await get()).status).toBe(200);
    const refused = await get();
    expect(refused).toEqual({
      status: 429,
      retryAfter: '1',
      body: { schemas: [errorSchema], status: '429', detail: 'Too many requests.' },
    });
    time += 499;
    expect((await get()).status).toBe(429);
    time += 1;
    expect((await get()).status).toBe(200);
    // The target's operator is never throttled.
    expect((await get({ 'x-operator': 'test' })).status).toBe(200);
    expect((await get()).status).toBe(429);
  });

  it('names the seconds until the next token, rounded up, when the rate is below one a second', async () => {
    service = await startLocalScimService({ token, clock, rateLimit: { requestsPerSecond: 0.25 } });
    expect((await get()).status).toBe(200);
    expect((await get()).retryAfter).toBe('4');
    time += 2500;
    expect((await get()).retryAfter).toBe('2');
    time += 1500;
    expect((await get()).status).toBe(200);
  });

  it('is read by npm start from LOCAL_SCIM_RATE_LIMIT and LOCAL_SCIM_RATE_BURST', () => {
    expect(parseLocalEnv({ LOCAL_SCIM_RATE_LIMIT: '20', LOCAL_SCIM_RATE_BURST: '5' })).toMatchObject({ LOCAL_SCIM_RATE_LIMIT: 20, LOCAL_SCIM_RATE_BURST: 5 });
    expect(parseLocalEnv({}).LOCAL_SCIM_RATE_LIMIT).toBeUndefined();
    expect(() => parseLocalEnv({ LOCAL_SCIM_RATE_LIMIT: '0' })).toThrow();
  });
});
