import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.ts';
import { watchJob } from '../watch.ts';

function seconds(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0.1 || number > 3600) throw new InvalidArgumentError('use a number of seconds from 0.1 to 3600');
  return number;
}

export function addWatchCommand(program: Command, context: CliContext): void {
  program
    .command('watch')
    .description('a live line about the job: progress of the cycle, steady state, quarantine, paused')
    .argument('<job>', 'job id')
    .option('--until-steady', 'exit 0 once the job is in steady state, 1 if it is quarantined')
    .option('--every <seconds>', 'how often to read the job', seconds, 1)
    .action(async (jobId: string, options: { untilSteady?: boolean; every: number }, command: Command) => {
      const session = context.session(command);
      const { io } = context;
      const code = await watchJob({
        getJob: () => session.getJob(jobId),
        write: (text) => void io.stdout.write(text),
        tty: io.stdout.isTTY === true,
        columns: io.stdout.columns,
        everyMs: options.every * 1000,
        untilSteady: options.untilSteady === true,
        now: io.now,
        sleep: io.sleep,
        signal: io.signal,
      });
      context.exitWith(code);
    });
}
