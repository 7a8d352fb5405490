import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getServices } from '../../functions/config/services.ts';
import { installStaleReads, type StaleReads } from '../support/stale-reads.ts';
import { startSyncHarness, type SyncHarness } from '../support/sync-harness.ts';
import { KNOWN_SEQUENCES } from './known-sequences.ts';
import { commandArbitrary, populate, runCommands, type CommandFamilies, type SyncCommand } from './sync-commands.ts';
import { SyncWorld, TOLERATED, type Problem, type WorldSettings } from './sync-world.ts';
import { pinSystemClock, VirtualClock } from './virtual-time.ts';

/**
 * Model-based test of the sync engine (docs/model-based-test.md): random sequences of directory changes, job
 * operations, target faults, killed invocations and stale reads, after which the faults stop and the target must
 * equal the directory's projection. Each property draws from some families of steps, so a failure says which.
 */

const RUNS = Number(process.env.MODEL_RUNS ?? 25);
/**
 * `npm test` plays the same sequences every time (a fixed seed: a red build is the change's, never the dice's);
 * `MODEL_SEED=random` explores new ones, `MODEL_SEED=<n>` replays a run.
 */
const SEED = process.env.MODEL_SEED === 'random' ? undefined : Number(process.env.MODEL_SEED ?? 20261201);
const PATH = process.env.MODEL_PATH;
/** Wall-clock budget of one property: past it no new sequence starts, and shrinking stops with the best so far. */
const BUDGET_MS = Number(process.env.MODEL_BUDGET_MS ?? 8_000);
const MAX_STEPS = Number(process.env.MODEL_MAX_STEPS ?? 18);

const SETTINGS: WorldSettings = { pageSize: 4, memberLimit: 3, targetTimeoutMs: 750, concurrency: 4 };

let h: SyncHarness;
let clock: VirtualClock;
let stale: StaleReads;
let unpin: () => void;

beforeAll(async () => {
  h = await startSyncHarness({ seedUsers: 0, seedGroups: 0 });
  clock = new VirtualClock(Date.now());
  unpin = pinSystemClock(clock);
  // The worker's and the API's stores share this client, as they do in one container of the deployed stack.
  stale = installStaleReads(getServices().dynamo);
});
afterAll(async () => {
  stale?.uninstall();
  unpin?.();
  await h?.close();
});

/**
 * Sets a world up (directory populated, job started), runs the steps, lets the faults stop and compares the target
 * with the projection. A strict world throws at the first problem found during the steps.
 */
async function play(
  commands: readonly SyncCommand[],
  seed: number,
  strict: boolean,
  settings: WorldSettings = SETTINGS,
): Promise<{ problems: Problem[]; journal: string[] }> {
  const world = await SyncWorld.create(h, clock, stale, settings, seed);
  world.strict = strict;
  try {
    const model = await populate(world);
    await world.jobAction('start');
    try {
      await runCommands(model, world, commands);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${world.journal.join('\n')}`, { cause: error });
    }
    const problems = await world.verdict();
    return { problems: problems.filter(({ kind }) => !TOLERATED.has(kind)), journal: world.journal };
  } finally {
    await world.close();
  }
}

const lines = (problems: Problem[]) => problems.map(({ kind, message }) => `[${kind}] ${message}`);

async function check(families: CommandFamilies): Promise<void> {
  const seed = SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  // Past the budget a case passes at once: no new sequence runs, and shrinking stops with the best so far. (fast-check's
  // own time limits either count skips against the property or leave a running case behind.)
  const deadline = Date.now() + BUDGET_MS;
  let played = 0;
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArbitrary(families), { maxLength: MAX_STEPS }), fc.nat(), async (commands, worldSeed) => {
        if (Date.now() > deadline && !PATH) return;
        played += 1;
        const { problems, journal } = await play(commands, worldSeed, true, families.assignments ? { ...SETTINGS, assignmentScope: true } : SETTINGS);
        expect(lines(problems), `the target differs from the projection of the directory\n${journal.join('\n')}`).toEqual([]);
      }),
      {
        numRuns: RUNS,
        seed,
        ...(PATH ? { path: PATH, endOnFailure: true } : {}),
        ...(process.env.MODEL_VERBOSE ? { verbose: 2 } : {}),
      },
    );
  } finally {
    console.info(`model test seed ${seed}: ${played} sequence(s) played (replay: MODEL_SEED=${seed}${PATH ? ` MODEL_PATH=${PATH}` : ''})`);
  }
}

describe('the sync engine replays the counterexamples found so far', () => {
  it.each(KNOWN_SEQUENCES)('$id: $title', async ({ kinds, commands, seed, assignmentScope }) => {
    const { problems, journal } = await play(commands, seed ?? 1, false, assignmentScope ? { ...SETTINGS, assignmentScope } : SETTINGS);
    const relevant = problems.filter(({ kind }) => kinds.includes(kind));
    expect(lines(relevant), `${commands.map(String).join(', ')}\n${journal.join('\n')}`).toEqual([]);
  });
});

describe('the sync engine against a model of directory, job and target', () => {
  const timeout = BUDGET_MS + 60_000;

  it(
    'converges after directory changes: users, groups larger than a page, nested groups, expired tokens',
    () => check({ directory: true }),
    timeout,
  );

  it('converges after target faults, and escrows only what the target refused', () => check({ directory: true, faults: true }), timeout);

  it(
    'converges after job operations and invocations killed at any port call',
    () => check({ directory: true, job: true, crashes: true }),
    timeout,
  );

  it(
    'converges after job operations and eventually consistent reads of DynamoDB',
    () => check({ directory: true, job: true, staleReads: true }),
    timeout,
  );

  it(
    'converges under assignment scope (SyncAll false): assigning and unassigning users and groups, with killed invocations',
    () => check({ directory: true, job: true, crashes: true, assignments: true }),
    timeout,
  );

  it(
    'converges after all of it at once',
    () => check({ directory: true, job: true, faults: true, crashes: true, staleReads: true }),
    timeout,
  );
});
