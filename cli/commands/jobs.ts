import { InvalidArgumentError, Option, type Command } from 'commander';
import { z } from 'zod';
import { MAX_TIME_SPAN, synchronizationJobSchema, type SynchronizationJob, type TaskExecution } from '../../functions/schemas/graph.ts';
import { RESET_FLAGS } from '../../functions/domain/reset-scope.ts';
import { CliError } from '../api-client.ts';
import { parseJob, type CliContext } from '../context.ts';
import { renderFrame, shortTime } from '../progress.ts';

const jobPageSchema = z.object({ value: z.array(synchronizationJobSchema), '@odata.nextLink': z.string().nullish() });

/** A comma-separated set of Graph's resetScope flags, spelled as Graph spells them. */
function parseResetScope(value: string): string {
  const flags = value.split(',').map((flag) => flag.trim()).filter(Boolean);
  const spelled = flags.map((flag) => RESET_FLAGS.find((known) => known.toLowerCase() === flag.toLowerCase()));
  if (flags.length === 0 || spelled.some((flag) => flag === undefined)) {
    throw new InvalidArgumentError(`use a comma-separated set of ${RESET_FLAGS.join(', ')}`);
  }
  return spelled.join(', ');
}

function interval(job: SynchronizationJob): string {
  return job.schedule.interval === MAX_TIME_SPAN ? '-' : job.schedule.interval;
}

function executionText(execution: TaskExecution | null): string {
  if (!execution) return '-';
  return `${execution.state} ${shortTime(execution.timeEnded)}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

function details(job: SynchronizationJob, now: number): string {
  const { status } = job;
  const rows = [
    ['id', job.id],
    ['template', job.templateId],
    ['schedule', `${job.schedule.state}, every ${interval(job)}`],
    ['status', `${status.code}: ${renderFrame(null, job, now).line}`],
    ['last cycle', executionText(status.lastExecution)],
    ['last success', executionText(status.lastSuccessfulExecution)],
  ];
  if (status.lastExecution?.error) rows.push(['last error', `${status.lastExecution.error.code}: ${status.lastExecution.error.message}`]);
  if (status.synchronizedEntryCountByType.length > 0) {
    rows.push(['in sync', status.synchronizedEntryCountByType.map(({ key, value }) => `${value} ${key}`).join(', ')]);
  }
  return table(rows);
}

export function addJobsCommand(program: Command, context: CliContext): void {
  const jobs = program
    .command('jobs')
    .description('list, create and drive synchronization jobs');

  jobs
    .command('list')
    .description('the service principal’s jobs')
    .action(async (_options, command: Command) => {
      const session = context.session(command);
      const all: SynchronizationJob[] = [];
      let next: string | null | undefined = session.syncPath('/jobs');
      while (next) {
        const page = jobPageSchema.safeParse((await session.client.get(next)).json);
        if (!page.success) throw new CliError('the jobs answer is not a page of synchronizationJob');
        all.push(...page.data.value);
        next = page.data['@odata.nextLink'];
      }
      if (session.json) return context.printJson(all);
      if (all.length === 0) return context.print(`no jobs for service principal ${session.servicePrincipalId}`);
      const rows = all.map((job) => [job.id, job.templateId, job.status.code, interval(job), executionText(job.status.lastExecution)]);
      context.print(table([['ID', 'TEMPLATE', 'STATUS', 'INTERVAL', 'LAST EXECUTION'], ...rows]));
    });

  jobs
    .command('get')
    .description('one job: schedule, status, last cycle')
    .argument('<job>', 'job id')
    .action(async (jobId: string, _options, command: Command) => {
      const session = context.session(command);
      const answer = await session.client.get(session.jobPath(jobId));
      if (session.json) return context.printJson(answer.json);
      context.print(details(parseJob(answer.json, jobId), context.io.now()));
    });

  jobs
    .command('create')
    .description('create a job and print its id')
    .option('--template <id>', 'synchronization template', 'scim')
    .option('--interval <duration>', 'schedule interval, ISO 8601 whole minutes (PT1M, PT1H); the API’s default otherwise')
    .action(async (options: { template: string; interval?: string }, command: Command) => {
      const session = context.session(command);
      const body = { templateId: options.template, ...(options.interval ? { schedule: { interval: options.interval } } : {}) };
      const answer = await session.client.post(session.syncPath('/jobs'), body);
      if (session.json) return context.printJson(answer.json);
      context.print(parseJob(answer.json, '(new)').id);
    });

  const simple = [
    ['start', 'start the job, or sync now if it is active (lifts quarantine)', 'POST', '/start', 'started'],
    ['pause', 'pause the job’s schedule; a later start continues where it stopped', 'POST', '/pause', 'paused'],
    ['delete', 'delete the job and its schedule (target accounts are kept)', 'DELETE', '', 'deleted'],
  ] as const;
  for (const [name, description, method, rest, done] of simple) {
    jobs
      .command(name)
      .description(description)
      .argument('<job>', 'job id')
      .action(async (jobId: string, _options, command: Command) => {
        const session = context.session(command);
        await session.client.request(method, session.jobPath(jobId, rest));
        context.print(`${done} ${jobId}`);
      });
  }

  jobs
    .command('restart')
    .description('reset what --scope names, then start')
    .argument('<job>', 'job id')
    .addOption(
      new Option('--scope <flags>', `comma-separated resetScope: ${RESET_FLAGS.join(', ')} (default: QuarantineState, Watermark, Escrows)`).argParser(
        parseResetScope,
      ),
    )
    .action(async (jobId: string, options: { scope?: string }, command: Command) => {
      const session = context.session(command);
      const body = options.scope ? { criteria: { resetScope: options.scope } } : undefined;
      await session.client.post(session.jobPath(jobId, '/restart'), body);
      context.print(`restarted ${jobId}${options.scope ? ` (${options.scope})` : ''}`);
    });
}
