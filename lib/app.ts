import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseDeployContext } from './deploy-context.ts';
import { GraphSyncJobsStack } from './graph-sync-jobs-stack.ts';

/**
 * Adds the service's stack to the app, configured from the app's context (`-c` values), and makes every AWS
 * Solutions finding fail the synth unless it is acknowledged next to its resource with a reason.
 */
export function defineApp(app: App): GraphSyncJobsStack {
  const { stackName, ...settings } = parseDeployContext((key) => app.node.tryGetContext(key));
  const stack = new GraphSyncJobsStack(app, stackName, {
    description: 'Self-hosted Microsoft Graph synchronization jobs (Entra ID app provisioning) on Lambda',
    settings,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
