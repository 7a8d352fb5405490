/**
 * Scale: seeds the local directory with BENCH_SCALE_USERS users (default 100,000) and BENCH_SCALE_GROUPS groups
 * (default 1,000): one of BENCH_SCALE_LARGEST members (default 20,000, at most the users), the others of 20. Runs the
 * job's initial sync as Lambda would, invocations of BENCH_SCALE_BUDGET_S seconds of Lambda time (default 90; a run
 * stops 30 s before its end, so 60 s of work) each handing over to the next, until steady state; samples the worker's RSS every 250 ms; counts DynamoDB units; then costs one full
 * round at that size (an expired delta token, or with BENCH_SCALE_ROUND=full a restart Full). The directory,
 * dynalite and the SCIM target run in a process of their own (bench/support/services-process.ts); the worker runs
 * in another, as deployed: its bundle under plain node with the deployed flags and settings
 * (bench/support/bundled-worker.ts). After each invocation the worker process forces a collection (Lambda starts
 * node with --expose-gc) and samples RSS and the heap again: what is still held then is retained, what RSS showed
 * above it was garbage not yet collected. With BENCH_SCALE_HEAP_SNAPSHOTS=2,20 it writes heap snapshots after those
 * invocations of the initial sync (summarise and compare them with bench/support/heap-summary.ts).
 * Run: `npm run bench:scale` (quick: `BENCH_SCALE_USERS=5000 BENCH_SCALE_GROUPS=100 npm run bench:scale`).
 */
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const { startRemoteServices } = await import('./support/remote-services.ts');
const { startBundledWorker } = await import('./support/bundled-worker.ts');
type Held = import('./support/worker-process.ts').Held;

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
/** The worker's RSS, sampled, stays at or under this in every invocation (the worker has 512 MB). */
const RSS_GOAL_MB = 200;

const mb = (values: number[]) => (values.length === 0 ? 0 : Math.max(...values));

const services = await startRemoteServices({ users, groups, groupSizes });
// The worker's environment: where the services are (startRemoteServices set it here) and the settings above.
const worker = await startBundledWorker(process.env);
type Invocation = { seconds: number; objects: number; members: number; outcome: string; rssMaxMb: number; held: Held };
/** Before the first invocation: Node.js and the worker's bundle, loaded, collected. */
const baseline = await worker.held();
let invocationCount = 0;

/** Runs the tick, then every continuation it asks for, until a run ends without asking for one. */
async function runUntilSettled(jobId: string, trigger: 'start' | 'schedule'): Promise<Invocation[]> {
  const invocations: Invocation[] = [];
  let before = await services.counts();
  let payload: unknown = null;
  do {
    const began = performance.now();
    const { outcome, rssMaxMb, held } = await worker.run(payload ?? services.tickOf(jobId, trigger), budgetMs);
    const after = await services.counts();
    invocations.push({
      seconds: (performance.now() - began) / 1000,
      objects: after.users + after.groups - before.users - before.groups,
      members: after.members - before.members,
      outcome,
      rssMaxMb,
      held,
    });
    invocationCount += 1;
    // Progress of a long run, on stderr: the figures that matter are printed at the end.
    console.error(`invocation ${invocationCount}: ${outcome}, ${invocations.at(-1)!.objects} objects; RSS max ${rssMaxMb.toFixed(0)} MB, after GC ${held.rssMb.toFixed(0)} MB (heapUsed ${held.heapUsedMb.toFixed(1)} MB)`);
    if (trigger === 'start' && settings.BENCH_SCALE_HEAP_SNAPSHOTS.has(invocationCount)) {
      console.log(`heap snapshot after invocation ${invocationCount}: ${await worker.snapshot(join(tmpdir(), `scale-${process.pid}-${invocationCount}.heapsnapshot`))}`);
    }
    before = after;
    if (outcome !== 'steadyState' && outcome !== 'outOfTime') throw new Error(`an invocation ended ${outcome}`);
    payload = services.takeTriggered() ?? null;
    if (invocations.length >= MAX_INVOCATIONS) throw new Error('no steady state');
  } while (payload !== null);
  if (invocations.at(-1)!.outcome !== 'steadyState') throw new Error(`the last invocation ended ${invocations.at(-1)!.outcome}`);
  return invocations;
}

async function describe(label: string, invocations: Invocation[], seconds: number, workerCpuMs: number, objects: number) {
  const spent = await worker.capacity();
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
  console.log(`               heap spaces now, committed/used MB: ${await worker.spaces()}`);
}

const describeHeld = (held: Held) =>
  `RSS ${held.rssMb.toFixed(0)} MB, heapTotal ${held.heapTotalMb.toFixed(0)} MB, heapUsed ${held.heapUsedMb.toFixed(1)} MB, external ${held.externalMb.toFixed(1)} MB (arrayBuffers ${held.arrayBuffersMb.toFixed(1)} MB)`;

try {
  const jobId = await services.startedJob();
  await worker.capacity();
  const objects = users + groups;
  let began = performance.now();
  let cpu = await worker.cpuMs();
  const initial = await runUntilSettled(jobId, 'start');
  const initialSeconds = (performance.now() - began) / 1000;
  const initialCpu = (await worker.cpuMs()) - cpu;
  const counts = await services.counts();
  const memberships = groupSizes.reduce((sum, size) => sum + size, 0);
  if (counts.users !== users || counts.groups !== groups || counts.members !== memberships) {
    throw new Error(`the target holds ${counts.users} users, ${counts.groups} groups, ${counts.members} memberships`);
  }
  const cpuInfo = cpus();
  const knobs = `BENCH_SCALE_USERS=${users} BENCH_SCALE_GROUPS=${groups} BENCH_SCALE_LARGEST=${largest} BENCH_SCALE_BUDGET_S=${settings.BENCH_SCALE_BUDGET_S}`;
  console.log(`command:      ${knobs} npm run bench:scale`);
  console.log(`machine:      ${cpuInfo[0]?.model ?? 'unknown cpu'}, ${cpuInfo.length} cores, node ${process.version}`);
  console.log(`worker:       the deployed bundle, as Lambda runs a function of ${worker.memorySize} MB: ${worker.command}`);
  console.log(`directory:    ${users} users, ${groups} groups (one of ${largest} members), ${memberships} memberships`);
  console.log(`before the first invocation, after GC (Node.js and the worker's bundle): ${describeHeld(baseline)}`);
  await describe('initial sync:', initial, initialSeconds, initialCpu, objects);

  const idle = await runUntilSettled(jobId, 'schedule');
  if (idle.length !== 1) throw new Error(`the tick after steady state took ${idle.length} invocations`);
  await worker.capacity();

  if (settings.BENCH_SCALE_ROUND === 'full') await services.expectOk('POST', `/jobs/${jobId}/restart`, { criteria: { resetScope: 'Full' } });
  else await services.expireDeltaTokens();
  began = performance.now();
  cpu = await worker.cpuMs();
  const round = await runUntilSettled(jobId, settings.BENCH_SCALE_ROUND === 'full' ? 'start' : 'schedule');
  await describe(settings.BENCH_SCALE_ROUND === 'full' ? 'restart Full:' : 'token expired:', round, (performance.now() - began) / 1000, (await worker.cpuMs()) - cpu, objects);
  const status = (await services.getJob(jobId)).status;
  console.log(`  then         ${JSON.stringify(status.synchronizedEntryCountByType)}, last execution ${status.lastExecution.state}`);
  const rssMaxMb = Math.max(...[...initial, ...round].map((invocation) => invocation.rssMaxMb));
  console.log(`goal:         RSS ≤ ${RSS_GOAL_MB} MB in every invocation of both: ${rssMaxMb <= RSS_GOAL_MB ? 'met' : 'not met'} (max ${rssMaxMb.toFixed(0)} MB)`);
} finally {
  worker.close();
  await services.close();
}
