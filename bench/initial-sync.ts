/**
 * Initial-sync throughput: seeds the local directory with BENCH_USERS users (default 10,000), runs one job's
 * initial sync into the local SCIM service and reports objects per second and the worker's CPU per object; then
 * POSTs the same users, mapped the same way, straight into a fresh local SCIM service at the same concurrency, as
 * the ceiling to compare with. The directory, DynamoDB (dynalite) and both SCIM services run in a process of their
 * own (bench/support/services-process.ts), as they are remote deployed; the worker and the raw loader run here.
 * With BENCH_TARGET_RATE=R both SCIM services take at most R requests per second and answer 429 with Retry-After
 * above it, as real targets do; the raw loader then sends at exactly R (it is told R, the job is not) and retries
 * what was refused after the Retry-After.
 * Run: `npm run bench:initial-sync` (or `BENCH_USERS=2000 npm run bench:initial-sync`), `npm run
 * bench:initial-sync-at-limit` (R = 20, 2,000 users); `npm run bench` runs both with the others.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { z } from 'zod';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Set before the worker's logger is built: one line per run would only interleave with the results.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const { cpuMs, startRemoteServices } = await import('./support/remote-services.ts');
const { sourceUserResources } = await import('../test/support/sync-harness.ts');
const { getServices } = await import('../functions/config/services.ts');
const { countCapacity } = await import('./support/dynamodb-capacity.ts');
const users = z.coerce.number().int().min(1).default(10_000).parse(process.env.BENCH_USERS);
const targetRate = z.coerce.number().positive().optional().parse(process.env.BENCH_TARGET_RATE);
const groups = 3;
const IDLE_TICKS = 20;
/** The goal: the job's rate at least this share of a raw loader's into the same kind of target. */
const RATIO_GOAL = 0.8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rawLoad(resources: Record<string, unknown>[], scimUrl: string, token: string, concurrency: number) {
  const url = new URL(scimUrl);
  const pool = new Pool(url.origin, { connections: concurrency });
  try {
    const started = performance.now();
    const cpuBefore = cpuMs();
    let next = 0;
    let refused = 0;
    // At a rate limit, request k leaves at k / R seconds: the best a client that knows R can do.
    let sent = 0;
    const slot = async () => {
      if (!targetRate) return;
      const at = started + (sent++ * 1000) / targetRate;
      if (at > performance.now()) await sleep(at - performance.now());
    };
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < resources.length) {
          const resource = resources[next++];
          for (;;) {
            await slot();
            const response = await pool.request({
              method: 'POST',
              path: `${url.pathname}/Users`,
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
              body: JSON.stringify(resource),
            });
            await response.body.text();
            if (response.statusCode === 429 && targetRate) {
              refused += 1;
              await sleep(Number(response.headers['retry-after'] ?? 1) * 1000);
              continue;
            }
            if (response.statusCode !== 201) throw new Error(`raw POST answered ${response.statusCode}`);
            break;
          }
        }
      }),
    );
    return { seconds: (performance.now() - started) / 1000, cpuMs: cpuMs() - cpuBefore, refused };
  } finally {
    await pool.close();
  }
}

const services = await startRemoteServices({ users, groups, ...(targetRate ? { targetRate } : {}) });
try {
  const concurrency = getServices().env.SCIM_CONCURRENCY;
  const capacity = countCapacity(getServices().dynamo);
  const jobId = await services.startedJob();
  capacity.take();

  const started = performance.now();
  const cpuBefore = cpuMs();
  const servicesBefore = await services.usage();
  const outcome = await services.runJob(jobId);
  const syncSeconds = (performance.now() - started) / 1000;
  const syncCpuMs = cpuMs() - cpuBefore;
  const servicesCpuMs = (await services.usage()).cpuMs - servicesBefore.cpuMs;
  const spent = capacity.take();
  const execution = (await services.getJob(jobId)).status.lastExecution as { state: string };
  const counts = await services.counts();
  const provisioned = counts.users + counts.groups;
  if (outcome !== 'steadyState' || execution.state !== 'Succeeded' || provisioned !== users + groups) {
    throw new Error(`the initial sync ended ${outcome} / ${execution.state} with ${provisioned} objects`);
  }
  const syncRate = provisioned / syncSeconds;

  // Idle ticks: the same job with nothing changed, as most schedule ticks find it.
  const idleMs: number[] = [];
  for (let tick = 0; tick < IDLE_TICKS; tick += 1) {
    const began = performance.now();
    const idle = await services.runJob(jobId, 'schedule');
    idleMs.push(performance.now() - began);
    if (idle !== 'steadyState') throw new Error(`an idle tick ended ${idle}`);
  }
  idleMs.sort((a, b) => a - b);

  const resources = [...(await sourceUserResources(services)).values()];
  const raw = await rawLoad(resources, services.rawScimUrl, services.scimToken, concurrency);
  const rawCreated = (await services.counts()).rawUsers;
  if (rawCreated !== resources.length) throw new Error(`the raw loader created ${rawCreated} of ${resources.length}`);
  const rawRate = rawCreated / raw.seconds;

  const cpu = cpus();
  const knobs = `${targetRate ? `BENCH_TARGET_RATE=${targetRate} ` : ''}${users === 10_000 ? '' : `BENCH_USERS=${users} `}`;
  console.log(`command:      ${knobs}npm run bench:initial-sync`);
  console.log(`machine:      ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
  console.log(`directory:    ${users} users, ${groups} groups with ${counts.members} memberships; concurrency ${concurrency}`);
  console.log('processes:    worker (and raw loader) in one; directory, dynalite, SCIM target, API in another');
  console.log(
    `target:       ${targetRate ? `at most ${targetRate} requests/s (429 with Retry-After above it); the job is not told the rate, the raw loader is` : 'unlimited'}`,
  );
  console.log(
    `initial sync: ${provisioned} objects (users, groups with members) in ${syncSeconds.toFixed(2)} s = ${syncRate.toFixed(targetRate ? 1 : 0)} objects/s`,
  );
  console.log(
    `worker CPU:   ${syncCpuMs.toFixed(0)} ms = ${(syncCpuMs / provisioned).toFixed(2)} ms/object (services process: ${(servicesCpuMs / provisioned).toFixed(2)} ms/object)`,
  );
  const operations = Object.entries(spent.byOperation)
    .sort(([, a], [, b]) => b.calls - a.calls)
    .map(([name, { calls }]) => `${name.replace(/Command$/, '')} ${calls}`)
    .join(', ');
  console.log(
    `DynamoDB:     ${(spent.calls / provisioned).toFixed(2)} requests, ${(spent.readUnits / provisioned).toFixed(2)} RRU, ${(spent.writeUnits / provisioned).toFixed(2)} WRU per object (${operations})`,
  );
  console.log(
    `raw loader:   ${rawCreated} users in ${raw.seconds.toFixed(2)} s = ${rawRate.toFixed(targetRate ? 1 : 0)} objects/s (${(raw.cpuMs / rawCreated).toFixed(2)} ms CPU/object${targetRate ? `, ${raw.refused} answered 429` : ''})`,
  );
  console.log(`ratio:        sync / raw = ${(syncRate / rawRate).toFixed(2)}`);
  console.log(`goal:         sync / raw ≥ ${RATIO_GOAL}: ${syncRate / rawRate >= RATIO_GOAL ? 'met' : 'not met'}`);
  console.log(
    `idle tick:    median ${idleMs[Math.floor(IDLE_TICKS / 2)]!.toFixed(1)} ms, max ${idleMs[IDLE_TICKS - 1]!.toFixed(1)} ms over ${IDLE_TICKS} ticks`,
  );
} finally {
  await services.close();
}
