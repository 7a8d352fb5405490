import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../functions/ports/clock.ts';
import { startLocalScimService, type LocalScimService } from '../../local/scim-service/local-scim-service.ts';
import { startSyncHarness, wrappedSyncRun, type SyncHarness } from '../support/sync-harness.ts';

const USERS = 240;
const GROUPS = 4;

let h: SyncHarness;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: USERS, seedGroups: GROUPS });
});
afterAll(async () => h?.close());

class Crash extends Error {}

/** Counts every port call of one "process"; call number `at` dies, before or after it took effect, and so does every later one. */
class CrashPoint {
  private calls = 0;
  dead = false;
  constructor(
    private readonly at: number,
    private readonly afterEffect: boolean,
  ) {}

  wrap<T extends object>(port: T): T {
    return new Proxy(port, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || property === 'close') return value;
        // What the target adapter learned is held in memory: reading or adding to it is no port call.
        if (property === 'traits' || property === 'learn') return (value as (...a: unknown[]) => unknown).bind(target);
        return async (...args: unknown[]) => {
          if (this.dead) throw new Crash('process is gone');
          this.calls += 1;
          if (this.calls === this.at && !this.afterEffect) this.die();
          const result = await Reflect.apply(value, target, args);
          if (this.calls >= this.at && !this.dead) this.die();
          if (this.dead) throw new Crash('process is gone');
          return result;
        };
      },
    });
  }

  private die(): never {
    this.dead = true;
    throw new Crash(`crashed at call ${this.at}`);
  }
}

/** A worker process whose ports die at `crash` (or never). */
function worker(clock: Clock, crash: CrashPoint | null) {
  return wrappedSyncRun(clock, (port) => (crash ? crash.wrap(port) : port));
}

async function expectTargetEqualsSource(scim: LocalScimService): Promise<void> {
  const sourceUsers = await h.listAll('users', 'id,userPrincipalName');
  const users = scim.resources('Users') as Record<string, any>[];
  expect(users.map((user) => user.userName).sort()).toEqual(sourceUsers.map((user) => user.userPrincipalName).sort());
  const targetIdOf = new Map(users.map((user) => [user.userName as string, user.id as string]));
  const sourceGroups = await h.listAll('groups', 'id,displayName');
  const groups = scim.resources('Groups') as Record<string, any>[];
  expect(groups.map((group) => group.displayName).sort()).toEqual(sourceGroups.map((group) => group.displayName).sort());
  for (const group of sourceGroups) {
    const members = await h.listAll(`groups/${group.id}/members` as 'users', 'userPrincipalName');
    const target = groups.find((candidate) => candidate.displayName === group.displayName)!;
    const actual = ((target.members ?? []) as { value: string }[]).map((member) => member.value).sort();
    expect(actual).toEqual(members.map((member) => targetIdOf.get(member.userPrincipalName)).sort());
  }
}

describe('a sync run that crashes anywhere', () => {
  it('completes after any series of crashes with the target equal to the source, nothing duplicated or lost', async () => {
    let time = Date.parse('2026-01-01T00:00:00Z');
    const clock: Clock = { now: () => new Date(time) };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: 1, max: 400 }), afterEffect: fc.boolean() }), { minLength: 1, maxLength: 4 }),
        async (crashes) => {
          const scim = await startLocalScimService({ host: '127.0.0.1', port: 0, token: h.scimToken });
          try {
            await h.putSecrets(scim.url, h.scimToken);
            const jobId = await h.createJob();
            await h.expectOk('POST', `/jobs/${jobId}/start`);
            const tick = h.tickOf(jobId);
            for (const { at, afterEffect } of crashes) {
              const outcome = await worker(clock, new CrashPoint(at, afterEffect))(tick, () => 10 * 60_000).catch((error: unknown) => {
                if (!(error instanceof Crash)) throw error;
                return 'crashed';
              });
              expect(['crashed', 'steadyState']).toContain(outcome);
              // The crashed process's lease runs out before the next one starts.
              time += 60 * 60_000;
            }
            expect(await worker(clock, null)(tick, () => 10 * 60_000)).toBe('steadyState');
            await expectTargetEqualsSource(scim);
            const status = (await h.getJob(jobId)).status;
            expect(status.synchronizedEntryCountByType).toEqual(
              expect.arrayContaining([{ key: 'User', value: USERS }, { key: 'Group', value: GROUPS }]),
            );
            await h.expectOk('DELETE', `/jobs/${jobId}`);
          } finally {
            await scim.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  }, 300_000);
});
