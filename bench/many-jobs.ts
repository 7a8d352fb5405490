/**
 * Many jobs firing in the same minute: BENCH_JOBS jobs (default 1,000) created in one instant with a one-minute
 * interval, whose schedules the local Scheduler emulator fires with a flexible window of BENCH_WINDOW_MINUTES
 * (default 1) for BENCH_ROUNDS scheduled times (default 3). The emulator's clock is stepped 5 s at a time; each
 * tick runs the real worker handler. Prints ticks fired against worker runs recorded (by outcome), and how the
 * window spreads the ticks over each minute. Loopback only.
 * Run: `npm run bench:many-jobs`.
 */
import { cpus } from 'node:os';
import { z } from 'zod';

const jobs = z.coerce.number().int().min(1).max(10_000).default(1_000).parse(process.env.BENCH_JOBS);
const windowMinutes = z.coerce.number().int().min(0).max(15).default(1).parse(process.env.BENCH_WINDOW_MINUTES);
const rounds = z.coerce.number().int().min(1).max(20).default(3).parse(process.env.BENCH_ROUNDS);
const STEP_MS = 5_000;

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.SCHEDULE_FLEXIBLE_WINDOW_MINUTES = String(windowMinutes);
process.env.MAX_JOBS_PER_SERVICE_PRINCIPAL = String(jobs);
process.env.MAX_JOBS_PER_TENANT = String(jobs);
const { startTestStack, syncPath } = await import('../test/support/local-stack.ts');

let now = Date.parse('2026-12-02T12:00:00.000Z');
const t = await startTestStack({ clock: { now: () => new Date(now) }, seed: { users: 0, groups: 0 } });
const sum = (counts: Record<string, number>) => Object.values(counts).reduce((total, count) => total + count, 0);
const minus = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([key, count]) => [key, count - (before[key] ?? 0)]).filter(([, count]) => count !== 0));

try {
  const sp = 'bench-many-jobs';
  const ok = (response: { status: number; text: string }, what: string) => {
    if (response.status >= 300) throw new Error(`${what}: ${response.status} ${response.text}`);
  };
  ok(
    await t.api('PUT', syncPath(sp, '/secrets'), {
      body: { value: [{ key: 'BaseAddress', value: t.stack.scimUrl }, { key: 'SecretToken', value: t.stack.scimToken }, { key: 'SyncAll', value: 'true' }] },
    }),
    'secrets',
  );
  const setupStarted = performance.now();
  const created: string[] = [];
  for (let index = 0; index < jobs; index += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, jobs - index) }, async () => {
        const job = await t.api('POST', syncPath(sp, '/jobs'), { body: { templateId: 'scim', schedule: { interval: 'PT1M' } } });
        ok(job, 'create');
        const id = (job.json as { id: string }).id;
        ok(await t.api('POST', syncPath(sp, `/jobs/${id}/start`)), 'start');
        return id;
      }),
    );
    created.push(...batch);
  }
  await t.stack.workerRunsSettled();
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  const afterSetup = t.stack.workerOutcomes();

  // Every schedule was created in the same instant: without a window, all fire in the same 5 s step of each minute.
  let fired = 0;
  const perStep = new Map<number, number>();
  const firingStarted = performance.now();
  const end = now + (rounds + windowMinutes) * 60_000 + STEP_MS;
  const origin = now;
  while (now < end) {
    now += STEP_MS;
    const count = await t.stack.runDueSchedules();
    fired += count;
    if (count > 0) perStep.set(now - origin, count);
    await t.stack.workerRunsSettled();
  }
  const firingSeconds = (performance.now() - firingStarted) / 1000;
  const ticks = minus(t.stack.workerOutcomes(), afterSetup);
  const recorded = sum(ticks);
  const expected = created.length * rounds;
  const busiest = Math.max(...perStep.values());
  const busyMinute = Math.max(
    ...[...perStep.keys()].map((at) => [...perStep.entries()].filter(([other]) => other > at - 60_000 && other <= at).reduce((total, [, count]) => total + count, 0)),
  );

  const cpu = cpus();
  console.log(`command:      BENCH_JOBS=${jobs} BENCH_WINDOW_MINUTES=${windowMinutes} BENCH_ROUNDS=${rounds} npm run bench:many-jobs`);
  console.log(`machine:      ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} cores, node ${process.version}`);
  console.log(`jobs:         ${created.length} created and started in ${setupSeconds.toFixed(1)} s (first runs: ${JSON.stringify(afterSetup)})`);
  console.log(`ticks fired:  ${fired} by the Scheduler emulator over ${((end - origin) / 60_000).toFixed(1)} virtual minutes (${expected} scheduled times are due in it at least)`);
  console.log(`runs:         ${recorded} worker invocations ended: ${JSON.stringify(ticks)}`);
  console.log(`accounted:    ${fired === recorded ? 'every tick fired is a run recorded' : `MISMATCH: ${fired - recorded} ticks without a run`}`);
  console.log(`spread:       window ${windowMinutes} min: busiest 5 s step ${busiest} ticks, busiest minute ${busyMinute} ticks, ${perStep.size} steps with ticks`);
  console.log(`throughput:   ${(recorded / firingSeconds).toFixed(0)} ticks/s handled (worker, dynalite, directory and target in one process, ${firingSeconds.toFixed(1)} s)`);
  if (fired !== recorded || fired < expected) process.exitCode = 1;
} finally {
  await t.close();
}
