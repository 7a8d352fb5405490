import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../functions/ports/clock.ts';
import type { ScimTarget } from '../../functions/ports/scim-target.ts';
import { startSyncHarness, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

const USERS = 10_000;
const EARLY = 2_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: USERS, seedGroups: 3 });
}, 60_000);
afterAll(async () => h?.close());

function heapMb(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe('an initial sync of a large directory', () => {
  it('keeps the worker heap flat from 2,000 to 10,000 users', async () => {
    await h.putSecrets(h.scim.url, h.scimToken);
    const jobId = await h.createJob();
    await h.expectOk('POST', `/jobs/${jobId}/start`);
    const samples: Record<number, number> = {};
    let created = 0;
    // The recording target's log would grow with every request: it is emptied as the run goes.
    const observe = <T extends object>(port: T): T => {
      if (!('create' in port)) return port;
      const target = port as unknown as ScimTarget;
      return new Proxy(port, {
        get: (object, property, receiver) =>
          property === 'create'
            ? async (...args: Parameters<ScimTarget['create']>) => {
                const result = await target.create(...args);
                created += 1;
                h.scim.clearRequests();
                if (created === EARLY || created === USERS) samples[created] = heapMb();
                return result;
              }
            : Reflect.get(object, property, receiver),
      });
    };

    expect(await wrappedSyncRun(systemClock, observe, 8)(h.tickOf(jobId), () => 10 * 60_000)).toBe('steadyState');

    expect(h.scim.resources('Users')).toHaveLength(USERS);
    const growth = samples[USERS]! - samples[EARLY]!;
    console.info(`heap after ${EARLY} users: ${samples[EARLY]!.toFixed(1)} MB, after ${USERS}: ${samples[USERS]!.toFixed(1)} MB`);
    // The in-process SCIM service and DynamoDB keep every account and link: about 8,000 more of each is
    // legitimately retained. A run that kept what it read or sent would add as much again.
    expect(growth).toBeLessThan(45);
  }, 240_000);
});
