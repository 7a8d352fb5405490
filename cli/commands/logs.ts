import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.ts';
import { formatRecord, readLogs, type LogQuery, type ProvisioningRecord } from '../provisioning-logs.ts';
import { INTERRUPTED } from '../watch.ts';

const FOLLOW_EVERY_MS = 2000;
/** One poll of --follow reads at most this many new records. */
const FOLLOW_BATCH = 1000;

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > 1000) throw new InvalidArgumentError('use a whole number from 1 to 1000');
  return number;
}

export function addLogsCommand(program: Command, context: CliContext): void {
  program
    .command('logs')
    .description('the job’s provisioning logs, newest first (GET /auditLogs/provisioning)')
    .argument('<job>', 'job id')
    .option('--failures', 'only failed records')
    .option('--follow', 'then print new records as they come, oldest first, until Ctrl-C')
    .option('--top <n>', 'how many records to read first', positive, 50)
    .action(async (jobId: string, options: { failures?: boolean; follow?: boolean; top: number }, command: Command) => {
      const session = context.session(command);
      const query: LogQuery = { jobId, failuresOnly: options.failures === true };
      const show = (records: ProvisioningRecord[]) => {
        for (const record of records) {
          if (session.json) context.io.stdout.write(`${JSON.stringify(record)}\n`);
          else context.print(formatRecord(record));
        }
      };
      const first = await readLogs(session.client, query, options.top);
      if (!options.follow) {
        if (session.json) return context.printJson(first);
        return show(first);
      }
      // Following reads like a tail: oldest first, the newest at the bottom.
      show([...first].reverse());
      let newest = first[0]?.activityDateTime;
      const { signal } = context.io;
      while (!signal?.aborted) {
        await context.io.sleep(FOLLOW_EVERY_MS, signal);
        if (signal?.aborted) break;
        const fresh = await readLogs(session.client, { ...query, after: newest }, FOLLOW_BATCH);
        show([...fresh].reverse());
        newest = fresh[0]?.activityDateTime ?? newest;
      }
      context.exitWith(INTERRUPTED);
    });
}
