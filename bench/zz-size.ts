import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createRequire } from 'node:module';
import { getServices } from '../functions/config/services.ts';
import { startSyncHarness } from '../test/support/sync-harness.ts';
const db = createRequire(import.meta.url)('dynalite/db/index.js');
const h = await startSyncHarness({ seedUsers: 50, seedGroups: 3 });
const jobId = await h.startedJob();
await h.runJob(jobId, 'schedule'); await h.runJob(jobId, 'schedule');
const { dynamo, env } = getServices();
const pk = `T#${h.tenantId}#SP#${h.servicePrincipalId}`;
for (const sk of [`JOB#${jobId}`, `JOB#${jobId}#IDLE`]) {
  const { Item } = await dynamo.send(new GetCommand({ TableName: env.TABLE_NAME, Key: { pk, sk } }));
  const m = marshall(Item, { removeUndefinedValues: true });
  console.error(sk.slice(-5), 'total', db.itemSize(m));
  for (const [k, v] of Object.entries(m)) console.error('  ', k, db.itemSize({ [k]: v }));
  if (m.status) for (const [k, v] of Object.entries((m.status as any).M)) console.error('     status.', k, db.itemSize({ [k]: v }));
  if (m.run) for (const [k, v] of Object.entries((m.run as any).M)) { const s = db.itemSize({ [k]: v }); if (s > 20) console.error('     run.', k, s); }
}
await h.close();
