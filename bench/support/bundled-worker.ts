/**
 * Starts bench/support/worker-process.ts the way Lambda starts the deployed worker: bundled as the stack bundles
 * it (bench/support/bundle.ts), under plain node with the flags Lambda's Node.js runtime derives from the function's
 * memory size, through the worker's exec wrapper if it has one, and with its process environment (NODE_OPTIONS,
 * MALLOC_ARENA_MAX, …): all as the synthesized stack has them. What it measures is the deployed code at the deployed
 * settings, with no tsx and no harness.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execWrapperSource, projectRoot, ServiceFunction } from '../../lib/constructs/service-function.ts';
import { syncWorkerServiceName } from '../../lib/constructs/sync-worker.ts';
import { synthesize } from '../../test/cdk/synth.ts';
import { bundleAsDeployed } from './bundle.ts';
import type { CapacityTotals } from './dynamodb-capacity.ts';
import type { Held, WorkerRequest } from './worker-process.ts';

/** What Lambda's Node.js runtime (its bootstrap script) gives node for a function of `memorySize` MB. */
function lambdaNodeArgs(memorySize: number): string[] {
  const newSpace = Math.floor(memorySize / 10);
  return ['--expose-gc', '--max-http-header-size', '81920', `--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memorySize - newSpace}`];
}

/** The deployed worker's memory size and process environment, as the synthesized stack has them. */
function deployedWorkerSettings(): { memorySize: number; environment: Record<string, string> } {
  const worker = synthesize()
    .stack.node.findAll()
    .find((construct): construct is ServiceFunction => construct instanceof ServiceFunction && construct.serviceName === syncWorkerServiceName)!;
  return { memorySize: worker.memorySize, environment: worker.processEnvironment };
}

/** The worker process, started with `env` (where its services are) on top of the deployed settings. */
export async function startBundledWorker(env: Record<string, string | undefined>) {
  const settings = deployedWorkerSettings();
  const outDir = mkdtempSync(path.join(projectRoot, '.bench-worker-'));
  const outfile = path.join(outDir, 'index.mjs');
  await bundleAsDeployed(fileURLToPath(new URL('./worker-process.ts', import.meta.url)), outfile);
  const nodeArgs = lambdaNodeArgs(settings.memorySize);
  // The bootstrap runs the wrapper with the command it would run (`node <flags> <entry>`); here, its file in the repository.
  const wrapper = settings.environment.AWS_LAMBDA_EXEC_WRAPPER === undefined ? undefined : path.join(projectRoot, execWrapperSource);
  const child = fork(outfile, [], {
    ...(wrapper ? { execPath: wrapper, execArgv: [process.execPath, ...nodeArgs] } : { execArgv: nodeArgs }),
    env: { ...env, ...settings.environment },
  });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the worker process exited (${code}) before it was ready`)));
    child.on('message', (message: { ready?: boolean }) => {
      if (message.ready) resolve();
    });
  });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (reply: any) => void; reject: (error: Error) => void }>();
  child.on('message', (message: { id?: number; reply?: unknown; error?: string }) => {
    const entry = message.id === undefined ? undefined : waiting.get(message.id);
    if (!entry) return;
    waiting.delete(message.id!);
    if (message.error) entry.reject(new Error(message.error));
    else entry.resolve(message.reply);
  });
  const ask = <T>(request: WorkerRequest) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ id, request });
    });

  return {
    /** How the process was started: node's flags and the process settings it was given. */
    command: `${Object.entries(settings.environment).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(' ')} ${wrapper ? `${execWrapperSource} ` : ''}node ${nodeArgs.join(' ')}`,
    memorySize: settings.memorySize,
    /** One invocation with `budgetMs` of Lambda time: its outcome, its RSS max (sampled) and what it holds after. */
    run: (payload: unknown, budgetMs: number) => ask<{ outcome: string; rssMaxMb: number; held: Held }>({ kind: 'run', payload, budgetMs }),
    held: () => ask<Held>({ kind: 'held' }),
    /** DynamoDB spent since the last call. */
    capacity: () => ask<CapacityTotals>({ kind: 'capacity' }),
    /** The process's CPU milliseconds so far (user and system). */
    cpuMs: () => ask<number>({ kind: 'cpu' }),
    /** V8's heap spaces now, committed/used MB. */
    spaces: () => ask<string>({ kind: 'spaces' }),
    snapshot: (file: string) => ask<string>({ kind: 'snapshot', file }),
    close: () => {
      child.kill();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

export type BundledWorker = Awaited<ReturnType<typeof startBundledWorker>>;
