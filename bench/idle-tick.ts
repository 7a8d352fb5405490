/**
 * What an idle tick costs in DynamoDB capacity: a job of the SCIM template run to steady state, then scheduled
 * ticks through the sync worker's handler (functions/workers/sync-job.ts, the local stack's composition: real SDK
 * clients against dynalite, the local directory and SCIM service), with `ReturnConsumedCapacity: 'TOTAL'` on every
 * DynamoDB call. Prints the read and write units per idle tick and their breakdown per item.
 * Run: `npm run bench:idle-tick`.
 */
import { cpus } from 'node:os';
import { getServices } from '../functions/config/services.ts';
import { meterConsumedCapacity } from '../test/support/consumed-capacity.ts';
import { startSyncHarness } from '../test/support/sync-harness.ts';

const TICKS = 10;
const cpu = cpus();
console.log('command:      npm run bench:idle-tick');
console.log(`machine:      ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);

const h = await startSyncHarness({ seedUsers: 50, seedGroups: 3 });
try {
  const jobId = await h.startedJob();
  // A second round, so the job is in the steady state of a job that has run for a while (the delta token, the
  // previous executions and the history all set).
  if ((await h.runJob(jobId, 'schedule')).outcome !== 'steadyState') throw new Error('the job did not reach steady state');
  const meter = meterConsumedCapacity(getServices().dynamo);
  const perTick: { read: number; write: number }[] = [];
  let breakdown = meter.byItem();
  for (let i = 0; i < TICKS; i += 1) {
    meter.reset();
    const { outcome } = await h.runJob(jobId, 'schedule');
    if (outcome !== 'steadyState') throw new Error(`an idle tick ended ${outcome}`);
    perTick.push(meter.total());
    breakdown = meter.byItem();
  }
  meter.stop();
  const max = perTick.reduce((a, b) => ({ read: Math.max(a.read, b.read), write: Math.max(a.write, b.write) }));
  const min = perTick.reduce((a, b) => ({ read: Math.min(a.read, b.read), write: Math.min(a.write, b.write) }));
  console.log(`directory:    50 users, 3 groups; ${TICKS} scheduled idle ticks of one job in steady state`);
  console.log(`idle tick:    ${max.read} RRU + ${max.write} WRU (max over the ticks; min ${min.read} RRU + ${min.write} WRU); goal ≤ 1 RRU + ≤ 2 WRU: ${max.read <= 1 && max.write <= 2 ? 'met' : 'not met'}`);
  console.log('per item (last tick):');
  for (const [item, sum] of breakdown) console.log(`  ${item.padEnd(10)} ${String(sum.read).padStart(4)} RRU ${String(sum.write).padStart(4)} WRU   ${sum.calls.join(', ')}`);
} finally {
  await h.close();
}
