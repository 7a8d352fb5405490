/**
 * API load: the job API's read and write paths under concurrent callers, through the local stack (node:http in
 * front of the Lambda handlers, dynalite behind them). Bounded in time, loopback only.
 * Run: `npm run bench:api` (BENCH_SECONDS, BENCH_CONNECTIONS to change the defaults).
 */
import { cpus } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
// autocannon ships no types; only its result fields used below are relied on.
// @ts-expect-error untyped module
import autocannon from 'autocannon';
import { z } from 'zod';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
const { startTestStack, syncPath } = await import('../test/support/local-stack.ts');

const seconds = z.coerce.number().int().min(1).max(60).default(10).parse(process.env.BENCH_SECONDS);
const connections = z.coerce.number().int().min(1).max(256).default(16).parse(process.env.BENCH_CONNECTIONS);

interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

function run(options: object): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon(options, (error: Error | null, result: Result) => (error ? reject(error) : resolve(result)));
  });
}

// One job per connection, all of one service principal: the quota must let them be.
process.env.MAX_JOBS_PER_SERVICE_PRINCIPAL ??= String(Math.max(20, connections));
const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-api-'));
const t = await startTestStack({ dataDir });
try {
  const sp = 'bench-app';
  // One job per connection for the write path: writers of the same job contend by design (409 after retries).
  const jobIds: string[] = [];
  for (let i = 0; i < connections; i += 1) {
    jobIds.push((await t.api('POST', syncPath(sp, '/jobs'), { body: { templateId: 'scim' } })).json.id as string);
  }
  const jobId = jobIds[0]!;
  let nextJob = 0;
  const base = t.stack.apiUrl.replace(/\/v1\.0$/, '');
  const headers = { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' };
  const scenarios = [
    { name: 'GET  job', method: 'GET', path: `/v1.0${syncPath(sp, `/jobs/${jobId}`)}` },
    { name: 'GET  jobs', method: 'GET', path: `/v1.0${syncPath(sp, '/jobs')}` },
    {
      name: 'PATCH interval',
      method: 'PATCH',
      path: `/v1.0${syncPath(sp, `/jobs/${jobId}`)}`,
      body: JSON.stringify({ schedule: { interval: 'PT10M' } }),
      setupRequest: (request: { path: string }) => ({
        ...request,
        path: `/v1.0${syncPath(sp, `/jobs/${jobIds[nextJob++ % jobIds.length]}`)}`,
      }),
    },
  ];
  const cpu = cpus();
  console.log(`command:  ${seconds === 10 && connections === 16 ? '' : `BENCH_SECONDS=${seconds} BENCH_CONNECTIONS=${connections} `}npm run bench:api`);
  console.log(`machine:  ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
  console.log(`load:     ${connections} connections for ${seconds} s per scenario, loopback, one process`);
  for (const scenario of scenarios) {
    const result = await run({
      url: `${base}${scenario.path}`,
      method: scenario.method,
      headers,
      body: scenario.body,
      connections,
      duration: seconds,
      ...(scenario.setupRequest ? { requests: [{ method: scenario.method, body: scenario.body, setupRequest: scenario.setupRequest }] } : {}),
    });
    console.log(
      `${scenario.name.padEnd(16)} ${result.requests.average.toFixed(0).padStart(6)} req/s   p50 ${String(result.latency.p50).padStart(4)} ms   p99 ${String(result.latency.p99).padStart(4)} ms   non-2xx ${result.non2xx}   errors ${result.errors}`,
    );
  }
} finally {
  await t.close();
  await rm(dataDir, { recursive: true, force: true });
}
