import { setTimeout as delay } from 'node:timers/promises';
import { Command, CommanderError } from 'commander';
import { CliError, GraphApiError, UnreachableError } from './api-client.ts';
import { isLoopback } from './connection.ts';
import { makeContext, type CliIo } from './context.ts';
import { addJobsCommand } from './commands/jobs.ts';
import { addLogsCommand } from './commands/logs.ts';
import { addSecretsCommand } from './commands/secrets.ts';
import { addWatchCommand } from './commands/watch.ts';

const NAME = 'graph-sync';
/** Usage errors exit 2, as most command-line tools' do; failures of the call itself exit 1. */
const USAGE_EXIT = 2;

function buildProgram(io: CliIo, exitWith: (code: number) => void): Command {
  const context = makeContext(io, exitWith);
  const program = new Command(NAME)
    .description('Drive the synchronization-job API: jobs, secrets, provisioning logs, live progress')
    .option('--url <base>', 'the API’s /v1.0 base URL (default: the local stack, http://127.0.0.1:$PORT/v1.0)')
    .option('--sp <servicePrincipalId>', 'service principal of the jobs (default: $GRAPH_SYNC_SP, else the demo app’s)')
    .option('--json', 'print the API’s JSON as it is')
    .addHelpText(
      'after',
      '\nEnvironment:\n  GRAPH_SYNC_TOKEN  bearer token (without it a loopback --url gets a local token)\n  GRAPH_SYNC_SP     default --sp\n  PORT, LOCAL_DATA_DIR  as for npm start',
    )
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      // Commander's "error: …" becomes the tool's one-line form.
      outputError: (text, write) => write(`${NAME}: ${text.replace(/^error: /, '')}`),
    });
  // Added with .command() so that they inherit the output and exit handling above.
  for (const add of [addJobsCommand, addSecretsCommand, addLogsCommand, addWatchCommand]) add(program, context);
  return program;
}

/** What a TLS client says of a certificate it does not trust (the local stack's CA, to a process not told of it). */
const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
]);

/** One line for anything that stops a command. */
function errorLine(error: unknown): string {
  if (error instanceof GraphApiError) return `${NAME}: ${error.code}: ${error.message}`;
  if (error instanceof UnreachableError) {
    const local = isLoopback(new URL(error.url));
    if (local && UNTRUSTED_CERTIFICATE.has(error.reason)) {
      return `${NAME}: ${error.url} has a certificate this process does not trust (${error.reason}): export NODE_EXTRA_CA_CERTS=<the local CA npm start prints>`;
    }
    const hint = local ? 'is npm start running?' : error.reason;
    return `${NAME}: cannot reach ${error.url} (${hint})`;
  }
  if (error instanceof CliError) return `${NAME}: ${error.message}`;
  return `${NAME}: ${error instanceof Error ? error.message : String(error)}`.split('\n')[0]!;
}

/** Runs the tool on `argv` (without node and the script) and returns its exit code; never exits the process. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (exit) => {
    code = exit;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : USAGE_EXIT;
    io.stderr.write(`${errorLine(error)}\n`);
    return 1;
  }
}

/** The process's own streams, fetch, clock and Ctrl-C. */
export function processIo(signal: AbortSignal): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    fetch: (url, init) => fetch(url, init),
    now: () => Date.now(),
    sleep: (ms, abort) => delay(ms, undefined, { signal: abort }).catch(() => undefined),
    signal,
  };
}
