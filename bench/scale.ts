/**
 * Scale: seeds the local directory with BENCH_SCALE_USERS users (default 100,000) and BENCH_SCALE_GROUPS groups
 * (default 1,000): one of BENCH_SCALE_LARGEST members (default 20,000, at most the users), the others of 20. Runs the
 * job's initial sync as Lambda would, invocations of BENCH_SCALE_BUDGET_S seconds of Lambda time (default 90; a run
 * stops 30 s before its end, so 60 s of work) each handing over to the next, until steady state; samples the worker's RSS every 250 ms; counts DynamoDB units; then costs one full
 * round at that size (an expired delta token, or with BENCH_SCALE_ROUND=full a restart Full). The directory,
 * dynalite and the SCIM target run in a process of their own (bench/support/services-process.ts).
 * After each invocation it forces a collection (node --expose-gc, as the npm script runs it) and samples RSS and
 * the heap again: what is still held then is retained, what RSS showed above it was garbage not yet collected. With
 * BENCH_SCALE_HEAP_SNAPSHOTS=2,20 it writes heap snapshots after those invocations of the initial sync
 * (summarise and compare them with bench/support/heap-summary.ts).
 * Run: `npm run bench:scale` (quick: `BENCH_SCALE_USERS=5000 BENCH_SCALE_GROUPS=100 npm run bench:scale`).
 */
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { z } from 'zod';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const { cpuMs, startRemoteServices } = await import('./support/remote-services.ts');
const { countCapacity } = await import('./support/dynamodb-capacity.ts');
const { getServices } = await import('../functions/config/services.ts');

const settings = z
  .object({
    BENCH_SCALE_USERS: z.coerce.number().int().min(1).default(100_000),
    BENCH_SCALE_GROUPS: z.coerce.number().int().min(1).default(1_000),
    BENCH_SCALE_LARGEST: z.coerce.number().int().min(1).default(20_000),
    BENCH_SCALE_BUDGET_S: z.coerce.number().min(40).default(90),
    BENCH_SCALE_ROUND: z.enum(['token', 'full']).default('token'),
    BENCH_SCALE_HEAP_SNAPSHOTS: z
      .string()
      .default('')
      .transform((list) => new Set(list.split(',').filter(Boolean).map(Number))),
  })
  .parse(process.env);
const users = settings.BENCH_SCALE_USERS;
const groups = settings.BENCH_SCALE_GROUPS;
const largest = Math.min(settings.BENCH_SCALE_LARGEST, users);
const groupSizes = Array.from({ length: groups }, (_, k) => (k === 0 ? largest : Math.min(20, users)));
const budgetMs = settings.BENCH_SCALE_BUDGET_S * 1000;
const MAX_INVOCATIONS = 10_000;

/** RSS of this (the worker's) process every 250 ms. */
const rss: number[] = [];
const sampler = setInterval(() => rss.push(process.memoryUsage().rss / 2 ** 20), 250);
const mb = (values: number[]) => (values.length === 0 ? 0 : Math.max(...values));
const MiB = 2 ** 20;
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:scale does)');
const collect = globalThis.gc;
/** Memory after a full collection: what the process still holds. */
type Held = { rssMb: number; heapTotalMb: number; heapUsedMb: number; externalMb: number; arrayBuffersMb: number };
function heldAfterGc(): Held {
  collect();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / MiB, heapTotalMb: usage.heapTotal / MiB, heapUsedMb: usage.heapUsed / MiB, externalMb: usage.external / MiB, arrayBuffersMb: usage.arrayBuffers / MiB };
}

const services = await startRemoteServices({ users, groups, groupSizes });
const capacity = countCapacity(getServices().dynamo);
type Invocation = { seconds: number; objects: number; members: number; outcome: string; rssMaxMb: number; held: Held };
/** Before the first invocation: Node.js, tsx, the worker's modules, the benchmark and its clients, collected. */
const baseline = heldAfterGc();
let invocationCount = 0;

/** Runs the tick, then every continuation it asks for, until a run ends without asking for one. */
async function runUntilSettled(jobId: string, trigger: 'start' | 'schedule'): Promise<Invocation[]> {
  const invocations: Invocation[] = [];
  let before = await services.counts();
  let payload: unknown = null;
  do {
    const sampled = rss.length;
    const began = performance.now();
    const outcome = payload === null ? await services.runJob(jobId, trigger, budgetMs) : await services.runPayload(payload, budgetMs);
    const after = await services.counts();
    invocations.push({
      seconds: (performance.now() - began) / 1000,
      objects: after.users + after.groups - before.users - before.groups,
      members: after.members - before.members,
      outcome,
      rssMaxMb: mb(rss.slice(sampled)),
      held: heldAfterGc(),
    });
    invocationCount += 1;
    // Progress of a long run, on stderr: the figures that matter are printed at the end.
    const { objects, outcome: ended, rssMaxMb, held } = invocations.at(-1)!;
    console.error(`invocation ${invocationCount}: ${ended}, ${objects} objects; RSS max ${rssMaxMb.toFixed(0)} MB, after GC ${held.rssMb.toFixed(0)} MB (heapUsed ${held.heapUsedMb.toFixed(1)} MB)`);
    if (trigger === 'start' && settings.BENCH_SCALE_HEAP_SNAPSHOTS.has(invocationCount)) {
      console.log(`heap snapshot after invocation ${invocationCount}: ${writeHeapSnapshot(join(tmpdir(), `scale-${process.pid}-${invocationCount}.heapsnapshot`))}`);
    }
    before = after;
    if (outcome !== 'steadyState' && outcome !== 'outOfTime') throw new Error(`an invocation ended ${outcome}`);
    payload = services.takeTriggered() ?? null;
    if (invocations.length >= MAX_INVOCATIONS) throw new Error('no steady state');
  } while (payload !== null);
  if (invocations.at(-1)!.outcome !== 'steadyState') throw new Error(`the last invocation ended ${invocations.at(-1)!.outcome}`);
  return invocations;
}

function describe(label: string, invocations: Invocation[], seconds: number, workerCpuMs: number, objects: number) {
  const spent = capacity.take();
  const maxObjects = Math.max(...invocations.map((invocation) => invocation.objects));
  const perInvocation = invocations.map((invocation) => invocation.rssMaxMb.toFixed(0)).join(' ');
  console.log(`${label} ${seconds.toFixed(1)} s, ${invocations.length} invocations of at most ${settings.BENCH_SCALE_BUDGET_S} s; at most ${maxObjects} objects created in one`);
  console.log(`  worker CPU   ${workerCpuMs.toFixed(0)} ms = ${(workerCpuMs / objects).toFixed(2)} ms/object`);
  console.log(
    `  DynamoDB     ${spent.calls} requests, ${spent.readUnits.toFixed(0)} RRU, ${spent.writeUnits.toFixed(0)} WRU = ${(spent.readUnits / objects).toFixed(2)} RRU + ${(spent.writeUnits / objects).toFixed(2)} WRU per object`,
  );
  const operations = Object.entries(spent.byOperation)
    .sort(([, a], [, b]) => b.units - a.units)
    .map(([name, { calls, units }]) => `${name.replace(/Command$/, '')} ${calls} (${units.toFixed(0)} units)`)
    .join(', ');
  console.log(`  by operation ${operations}`);
  console.log(`  worker RSS   max ${mb(invocations.map((invocation) => invocation.rssMaxMb)).toFixed(0)} MB; max per invocation (MB): ${perInvocation}`);
  const first = invocations[0]!.held;
  const last = invocations.at(-1)!.held;
  const series = (pick: (held: Held) => number) => invocations.map((invocation) => pick(invocation.held).toFixed(0)).join(' ');
  console.log(`  after GC     RSS first ${first.rssMb.toFixed(0)} MB, last ${last.rssMb.toFixed(0)} MB, max ${mb(invocations.map((invocation) => invocation.held.rssMb)).toFixed(0)} MB; per invocation (MB): ${series((held) => held.rssMb)}`);
  console.log(`               RSS after GC above its value before the first invocation: first ${(first.rssMb - baseline.rssMb).toFixed(0)} MB, last ${(last.rssMb - baseline.rssMb).toFixed(0)} MB`);
  console.log(`               heapUsed first ${first.heapUsedMb.toFixed(1)} MB, last ${last.heapUsedMb.toFixed(1)} MB; per invocation (MB): ${series((held) => held.heapUsedMb)}`);
  console.log(`               heapTotal (V8's committed heap) last ${last.heapTotalMb.toFixed(0)} MB; external last ${last.externalMb.toFixed(1)} MB (arrayBuffers ${last.arrayBuffersMb.toFixed(1)} MB)`);
  // Committed against used by space: a young generation grown to its maximum stays committed after a collection.
  const spaces = getHeapSpaceStatistics()
    .filter((space) => space.space_size >= MiB)
    .map((space) => `${space.space_name.replace(/_space$/, '')} ${(space.space_size / MiB).toFixed(0)}/${(space.space_used_size / MiB).toFixed(0)}`)
    .join(', ');
  console.log(`               heap spaces now, committed/used MB: ${spaces}`);
}

const describeHeld = (held: Held) =>
  `RSS ${held.rssMb.toFixed(0)} MB, heapTotal ${held.heapTotalMb.toFixed(0)} MB, heapUsed ${held.heapUsedMb.toFixed(1)} MB, external ${held.externalMb.toFixed(1)} MB (arrayBuffers ${held.arrayBuffersMb.toFixed(1)} MB)`;

try {
  const jobId = await services.startedJob();
  capacity.take();
  const objects = users + groups;
  let began = performance.now();
  let cpu = cpuMs();
  const initial = await runUntilSettled(jobId, 'start');
  const initialSeconds = (performance.now() - began) / 1000;
  const initialCpu = cpuMs() - cpu;
  const counts = await services.counts();
  const memberships = groupSizes.reduce((sum, size) => sum + size, 0);
  if (counts.users !== users || counts.groups !== groups || counts.members !== memberships) {
    throw new Error(`the target holds ${counts.users} users, ${counts.groups} groups, ${counts.members} memberships`);
  }
  const cpuInfo = cpus();
  const knobs = `BENCH_SCALE_USERS=${users} BENCH_SCALE_GROUPS=${groups} BENCH_SCALE_LARGEST=${largest} BENCH_SCALE_BUDGET_S=${settings.BENCH_SCALE_BUDGET_S}`;
  console.log(`command:      ${knobs} npm run bench:scale`);
  console.log(`machine:      ${cpuInfo[0]?.model ?? 'unknown cpu'}, ${cpuInfo.length} cores, node ${process.version}`);
  console.log(`directory:    ${users} users, ${groups} groups (one of ${largest} members), ${memberships} memberships`);
  console.log(`before the first invocation, after GC (Node.js, tsx, modules, the benchmark): ${describeHeld(baseline)}`);
  describe('initial sync:', initial, initialSeconds, initialCpu, objects);

  const idle = await runUntilSettled(jobId, 'schedule');
  if (idle.length !== 1) throw new Error(`the tick after steady state took ${idle.length} invocations`);
  capacity.take();

  if (settings.BENCH_SCALE_ROUND === 'full') await services.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Full' } });
  else await services.expireDeltaTokens();
  began = performance.now();
  cpu = cpuMs();
  const round = await runUntilSettled(jobId, settings.BENCH_SCALE_ROUND === 'full' ? 'start' : 'schedule');
  describe(settings.BENCH_SCALE_ROUND === 'full' ? 'restart Full:' : 'token expired:', round, (performance.now() - began) / 1000, cpuMs() - cpu, objects);
  const status = (await services.getJob(jobId)).status;
  console.log(`  then         ${JSON.stringify(status.synchronizedEntryCountByType)}, last execution ${status.lastExecution.state}`);
} finally {
  clearInterval(sampler);
  await services.close();
}
