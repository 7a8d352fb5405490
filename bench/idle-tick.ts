/**
 * What an idle tick costs in DynamoDB capacity: a job of the SCIM template run to steady state, then scheduled
 * ticks through the sync worker's handler (functions/workers/sync-job.ts, the local stack's composition: real SDK
 * clients against dynalite, the local directory and SCIM service), with `ReturnConsumedCapacity: 'TOTAL'` on every
 * DynamoDB call. Prints the read and write units per idle tick (in all, and of the job's own items: the secrets
 * read belongs to connecting to source and target), the items' sizes and the units per item. The first idle tick
 * after a run renews the job's watermark in the job item, as one does every 12 hours (WATERMARK_RENEWAL_MS): it is
 * shown apart, and spread over the ticks of 12 hours at PT5M.
 * Run: `npm run bench:idle-tick`.
 */
import { cpus } from 'node:os';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { getServices } from '../functions/config/services.ts';
import { WATERMARK_RENEWAL_MS } from '../functions/domain/idle-rounds.ts';
import { meterConsumedCapacity, type ConsumedEntry } from '../test/support/consumed-capacity.ts';
import { startSyncHarness, workerContext, wrappedSyncRun } from '../test/support/sync-harness.ts';

const TICKS = 10;
type Units = { read: number; write: number };
const sum = (entries: ConsumedEntry[], field: keyof Units) => entries.reduce((total, entry) => total + entry[field], 0);
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
  const perTick: { all: Units; job: Units }[] = [];
  let breakdown = meter.byItem();
  for (let i = 0; i < TICKS; i += 1) {
    meter.reset();
    const { outcome } = await h.runJob(jobId, 'schedule');
    if (outcome !== 'steadyState') throw new Error(`an idle tick ended ${outcome}`);
    // The secrets are read to connect to source and target; the rest are the job's own items.
    const own = meter.entries.filter((entry) => entry.item !== 'SECRETS');
    perTick.push({ all: meter.total(), job: { read: sum(own, 'read'), write: sum(own, 'write') } });
    breakdown = meter.byItem();
  }
  // Half a day later on the worker's clock: the round writes the position it read into the job item.
  meter.reset();
  const later = { now: () => new Date(Date.now() + WATERMARK_RENEWAL_MS) };
  const tick = { tenantId: h.tenantId, servicePrincipalId: h.servicePrincipalId, jobId, trigger: 'schedule' as const };
  if ((await wrappedSyncRun(later, (port) => port)(tick, () => workerContext().getRemainingTimeInMillis())) !== 'steadyState') {
    throw new Error('the renewing tick did not end in steady state');
  }
  const renewal = meter.total();
  const renewalCalls = meter.byItem();
  meter.stop();
  const max = (pick: (tick: (typeof perTick)[number]) => Units): Units => ({
    read: Math.max(...perTick.map((tick) => pick(tick).read)),
    write: Math.max(...perTick.map((tick) => pick(tick).write)),
  });
  const all = max((tick) => tick.all);
  const job = max((tick) => tick.job);
  const { dynamo, env } = getServices();
  const pk = `T#${h.tenantId}#SP#${h.servicePrincipalId}`;
  const bytes = async (sk: string) => {
    const { Item } = await dynamo.send(new GetCommand({ TableName: env.TABLE_NAME, Key: { pk, sk } }));
    return Item ? Buffer.byteLength(JSON.stringify(Item)) : 0;
  };
  console.log(`directory:    50 users, 3 groups; ${TICKS} scheduled idle ticks of one job in steady state`);
  const ticksPerRenewal = WATERMARK_RENEWAL_MS / (5 * 60_000);
  const spread = (idle: number, renewing: number) => Math.round(((ticksPerRenewal - 1) * idle + renewing) / ticksPerRenewal * 1000) / 1000;
  const mean = { read: spread(all.read, renewal.read), write: spread(all.write, renewal.write) };
  console.log(`idle tick:    ${all.read} RRU + ${all.write} WRU in all (the highest of the ${TICKS} ticks)`);
  console.log(`job items:    ${job.read} RRU + ${job.write} WRU`);
  console.log(`renewal:      ${renewal.read} RRU + ${renewal.write} WRU (${[...renewalCalls.entries()].map(([item, units]) => `${item} ${units.calls.join(', ')}`).join('; ')}), once per ${WATERMARK_RENEWAL_MS / 3_600_000} h`);
  console.log(`per tick:     ${mean.read} RRU + ${mean.write} WRU at PT5M with the renewal spread over its ${ticksPerRenewal} ticks`);
  console.log(`goal:         ≤ 1 RRU + ≤ 2 WRU per idle tick in all: ${all.read <= 1 && all.write <= 2 && mean.write <= 2 ? 'met' : 'not met'}`);
  console.log(`item sizes:   job ${await bytes(`JOB#${jobId}`)} B, idle rounds ${await bytes(`JOB#${jobId}#IDLE`)} B (as JSON)`);
  console.log('per item (last tick):');
  for (const [item, units] of breakdown) console.log(`  ${item.padEnd(10)} ${String(units.read).padStart(4)} RRU ${String(units.write).padStart(4)} WRU   ${units.calls.join(', ')}`);
} finally {
  await h.close();
}
