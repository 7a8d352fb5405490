import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseDeployContext } from '../lib/deploy-context.ts';
import { GraphSyncJobsStack } from '../lib/graph-sync-jobs-stack.ts';

const app = new App();
const { stackName, ...settings } = parseDeployContext((key) => app.node.tryGetContext(key));
new GraphSyncJobsStack(app, stackName, {
  description: 'Self-hosted Microsoft Graph synchronization jobs (Entra ID app provisioning) on Lambda',
  settings,
});
// Every AWS Solutions finding fails the synth unless it is acknowledged next to the resource with its reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
