/**
 * Initial-sync throughput: seeds the local directory with BENCH_USERS users (default 10,000), runs one job's
 * initial sync into the local SCIM service and reports objects per second; then POSTs the same users, mapped the
 * same way, straight into a fresh local SCIM service at the same concurrency, as the ceiling to compare with.
 * Run: `npm run bench` (or `BENCH_USERS=2000 npm run bench`).
 */
import { cpus } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { z } from 'zod';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Set before the worker's logger is built: one line per run would only interleave with the results.
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const { getServices } = await import('../functions/config/services.ts');
const { startLocalScimService } = await import('../local/scim-service/local-scim-service.ts');
const { sourceUserResources, startSyncHarness } = await import('../test/support/sync-harness.ts');
const users = z.coerce.number().int().min(1).default(10_000).parse(process.env.BENCH_USERS);
const groups = 3;
const IDLE_TICKS = 20;

async function rawLoad(resources: Record<string, unknown>[], token: string, concurrency: number) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-raw-'));
  const scim = await startLocalScimService({ token, dataFile: path.join(dataDir, 'scim.json') });
  const url = new URL(scim.url);
  const pool = new Pool(url.origin, { connections: concurrency });
  try {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < resources.length) {
          const resource = resources[next++];
          const response = await pool.request({
            method: 'POST',
            path: `${url.pathname}/Users`,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
            body: JSON.stringify(resource),
          });
          await response.body.text();
          if (response.statusCode !== 201) throw new Error(`raw POST answered ${response.statusCode}`);
        }
      }),
    );
    return { seconds: (performance.now() - started) / 1000, created: scim.resources('Users').length };
  } finally {
    await pool.close();
    await scim.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const harness = await startSyncHarness({ seedUsers: users, seedGroups: groups });
try {
  const { stack } = harness;
  const concurrency = getServices().env.SCIM_CONCURRENCY;
  await harness.putSecrets(stack.scimUrl, stack.scimToken);
  const jobId = await harness.createJob();
  await harness.expectOk('POST', `/jobs/${jobId}/start`);

  const started = performance.now();
  const outcome = (await harness.runJob(jobId)).outcome;
  const syncSeconds = (performance.now() - started) / 1000;
  const execution = (await harness.getJob(jobId)).status.lastExecution as { state: string };
  const provisioned = stack.scim.resources('Users').length + stack.scim.resources('Groups').length;
  if (outcome !== 'steadyState' || execution.state !== 'Succeeded' || provisioned !== users + groups) {
    throw new Error(`the initial sync ended ${outcome} / ${execution.state} with ${provisioned} objects`);
  }
  const syncRate = provisioned / syncSeconds;

  // Idle ticks: the same job with nothing changed, as most schedule ticks find it.
  const idleMs: number[] = [];
  for (let tick = 0; tick < IDLE_TICKS; tick += 1) {
    const began = performance.now();
    const idle = (await harness.runJob(jobId, 'schedule')).outcome;
    idleMs.push(performance.now() - began);
    if (idle !== 'steadyState') throw new Error(`an idle tick ended ${idle}`);
  }
  idleMs.sort((a, b) => a - b);

  const resources = [...(await sourceUserResources(harness)).values()];
  const raw = await rawLoad(resources, stack.scimToken, concurrency);
  if (raw.created !== resources.length) throw new Error(`the raw loader created ${raw.created} of ${resources.length}`);
  const rawRate = raw.created / raw.seconds;

  const cpu = cpus();
  console.log(`command:      ${users === 10_000 ? '' : `BENCH_USERS=${users} `}npm run bench`);
  console.log(`machine:      ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
  console.log(`directory:    ${users} users, ${groups} groups; concurrency ${concurrency}`);
  console.log(
    `initial sync: ${provisioned} objects (users, groups with members) in ${syncSeconds.toFixed(2)} s = ${syncRate.toFixed(0)} objects/s`,
  );
  console.log(`raw loader:   ${raw.created} users in ${raw.seconds.toFixed(2)} s = ${rawRate.toFixed(0)} objects/s`);
  console.log(`ratio:        sync / raw = ${(syncRate / rawRate).toFixed(2)}`);
  console.log(
    `idle tick:    median ${idleMs[Math.floor(IDLE_TICKS / 2)]!.toFixed(1)} ms, max ${idleMs[IDLE_TICKS - 1]!.toFixed(1)} ms over ${IDLE_TICKS} ticks (worker, directory, DynamoDB and target in one process)`,
  );
} finally {
  await harness.close();
}
