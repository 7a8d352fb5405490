import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

/** KEY=VALUE; a malformed argument is named by its position, not shown, since it may be a secret. */
function pairs(args: string[], command: Command): { key: string; value: string }[] {
  return args.map((arg, index) => {
    const at = arg.indexOf('=');
    if (at <= 0) command.error(`argument ${index + 1} is not KEY=VALUE`, { exitCode: 2 });
    return { key: arg.slice(0, at), value: arg.slice(at + 1) };
  });
}

export function addSecretsCommand(program: Command, context: CliContext): void {
  const secrets = program
    .command('secrets')
    .description('the service principal’s write-only secrets (target, source, settings)');
  secrets
    .command('set')
    .description('replace the secrets with these (PUT /secrets); values are never shown')
    .argument('<pairs...>', 'KEY=VALUE, e.g. BaseAddress=http://127.0.0.1:3002/scim/v2 SecretToken=local-scim-token')
    .action(async (args: string[], _options, command: Command) => {
      const value = pairs(args, command);
      const session = context.session(command);
      await session.client.put(session.syncPath('/secrets'), { value });
      context.print(`set ${value.map(({ key }) => key).join(', ')} for service principal ${session.servicePrincipalId}`);
    });
}
