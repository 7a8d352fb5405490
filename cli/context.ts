import type { Command } from 'commander';
import { synchronizationJobSchema, type SynchronizationJob } from '../functions/schemas/graph.ts';
import { CliError, makeApiClient, type ApiClient, type FetchLike } from './api-client.ts';
import { resolveConnection } from './connection.ts';

/** Everything the commands touch outside themselves, so tests run them in-process. */
export interface CliIo {
  stdout: { write: (text: string) => unknown; isTTY?: boolean; columns?: number };
  stderr: { write: (text: string) => unknown };
  env: NodeJS.ProcessEnv;
  fetch: FetchLike;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Aborted on Ctrl-C: `watch` and `logs --follow` end. */
  signal?: AbortSignal;
}

export interface GlobalOptions {
  url?: string;
  sp?: string;
  json?: boolean;
}

export interface Session {
  client: ApiClient;
  servicePrincipalId: string;
  json: boolean;
  /** `/servicePrincipals/{sp}/synchronization` + rest. */
  syncPath: (rest?: string) => string;
  jobPath: (jobId: string, rest?: string) => string;
  getJob: (jobId: string) => Promise<SynchronizationJob>;
}

export interface CliContext {
  io: CliIo;
  session: (command: Command) => Session;
  print: (line?: string) => void;
  printJson: (value: unknown) => void;
  /** An action's exit code other than 0 (the program's own errors are thrown). */
  exitWith: (code: number) => void;
}

export function parseJob(json: unknown, jobId: string): SynchronizationJob {
  const parsed = synchronizationJobSchema.safeParse(json);
  if (!parsed.success) throw new CliError(`the answer for job '${jobId}' is not a synchronizationJob`);
  return parsed.data;
}

export function makeContext(io: CliIo, exitWith: (code: number) => void): CliContext {
  return {
    io,
    exitWith,
    print: (line = '') => void io.stdout.write(`${line}\n`),
    printJson: (value) => void io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    session: (command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const connection = resolveConnection(options, io.env);
      const client = makeApiClient({ baseUrl: connection.baseUrl, token: connection.token, fetch: io.fetch });
      const syncPath = (rest = '') => `/servicePrincipals/${encodeURIComponent(connection.servicePrincipalId)}/synchronization${rest}`;
      const jobPath = (jobId: string, rest = '') => syncPath(`/jobs/${encodeURIComponent(jobId)}${rest}`);
      return {
        client,
        servicePrincipalId: connection.servicePrincipalId,
        json: options.json === true,
        syncPath,
        jobPath,
        getJob: async (jobId) => parseJob((await client.get(jobPath(jobId))).json, jobId),
      };
    },
  };
}
