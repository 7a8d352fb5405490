/**
 * The sync worker alone in a process, as Lambda runs it: bench/support/bundled-worker.ts bundles this file as the
 * stack bundles the worker (the worker's modules and this small driver) and runs it under plain node with the
 * deployed function's flags and process environment. Over IPC it runs one invocation at a time, sampling its RSS
 * every 250 ms, and answers for its own memory, CPU and DynamoDB capacity.
 */
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { getServices } from '../../functions/config/services.ts';
import { handler } from '../../functions/workers/sync-job.ts';
import { workerContext } from '../../test/support/worker-context.ts';
import { countCapacity } from './dynamodb-capacity.ts';

export type WorkerRequest =
  | { kind: 'run'; payload: unknown; budgetMs: number }
  | { kind: 'held' | 'capacity' | 'cpu' | 'spaces' }
  | { kind: 'snapshot'; file: string };

/** Memory after a full collection: what the process still holds. */
export type Held = { rssMb: number; heapTotalMb: number; heapUsedMb: number; externalMb: number; arrayBuffersMb: number };

const MiB = 2 ** 20;
// Lambda's Node.js runtime starts node with --expose-gc, and so does the benchmark.
const collect = globalThis.gc!;
function heldAfterGc(): Held {
  collect();
  const usage = process.memoryUsage();
  return { rssMb: usage.rss / MiB, heapTotalMb: usage.heapTotal / MiB, heapUsedMb: usage.heapUsed / MiB, externalMb: usage.external / MiB, arrayBuffersMb: usage.arrayBuffers / MiB };
}

const capacity = countCapacity(getServices().dynamo);

async function answer(request: WorkerRequest): Promise<unknown> {
  switch (request.kind) {
    case 'run': {
      let rssMaxMb = process.memoryUsage().rss / MiB;
      const sampler = setInterval(() => (rssMaxMb = Math.max(rssMaxMb, process.memoryUsage().rss / MiB)), 250);
      try {
        const { outcome } = (await handler(request.payload, workerContext(request.budgetMs))) as { outcome: string };
        return { outcome, rssMaxMb: Math.max(rssMaxMb, process.memoryUsage().rss / MiB), held: heldAfterGc() };
      } finally {
        clearInterval(sampler);
      }
    }
    case 'held':
      return heldAfterGc();
    case 'capacity':
      return capacity.take();
    case 'cpu': {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    }
    case 'spaces':
      // Committed against used by space: a young generation grown to its maximum stays committed after a collection.
      return getHeapSpaceStatistics()
        .filter((space) => space.space_size >= MiB)
        .map((space) => `${space.space_name.replace(/_space$/, '')} ${(space.space_size / MiB).toFixed(0)}/${(space.space_used_size / MiB).toFixed(0)}`)
        .join(', ');
    case 'snapshot':
      return writeHeapSnapshot(request.file);
  }
}

process.on('message', ({ id, request }: { id: number; request: WorkerRequest }) => {
  answer(request).then(
    (reply) => process.send!({ id, reply }),
    (error: unknown) => process.send!({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
});
// The benchmark's end (or death) ends the worker.
process.on('disconnect', () => process.exit());
process.send!({ ready: true });
