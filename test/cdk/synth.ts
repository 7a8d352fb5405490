import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { defineApp } from '../../lib/app.ts';
import { ServiceFunction } from '../../lib/constructs/service-function.ts';
import type { GraphSyncJobsStack } from '../../lib/graph-sync-jobs-stack.ts';

/** Context of a typical single-tenant deployment. */
export const deployContext = {
  tenants: '11111111-2222-3333-4444-555555555555',
  audience: 'api://graph-sync-jobs,66666666-7777-8888-9999-000000000000',
  sourceClientId: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
  sourceClientSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:graph-sync/source-AbCdEf',
};

export interface Synthesized {
  app: App;
  stack: GraphSyncJobsStack;
  template: Template;
}

/** The app as `cdk synth` builds it, with bundling skipped unless asked for (it is asserted in its own test). */
export function synthesize(context: Record<string, string> = deployContext, options = { bundle: false }): Synthesized {
  const app = new App({ context: { ...context, ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) } });
  const stack = defineApp(app);
  const template = Template.fromStack(stack);
  // The assembly in the temporary outdir is only read again when bundles are asserted (that test removes it).
  if (!options.bundle) rmSync(app.outdir, { recursive: true, force: true });
  return { app, stack, template };
}

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

/** Logical id of the function whose Powertools service name is `service` (the API handler name, or `sync-worker`). */
export function functionId(template: Template, service: string): string {
  const found = Object.entries(template.findResources('AWS::Lambda::Function') as Resources).filter(
    ([, resource]) => resource.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
  );
  if (found.length !== 1) throw new Error(`expected one function for ${service}, found ${found.length}`);
  return found[0]![0];
}

/** Every IAM statement attached to the role of that function. */
export function statementsOf(template: Template, service: string): Array<Record<string, any>> {
  const fn = template.findResources('AWS::Lambda::Function')[functionId(template, service)] as Resources[string];
  const roleId = fn.Properties?.Role?.['Fn::GetAtt']?.[0] as string;
  return Object.values(template.findResources('AWS::IAM::Policy') as Resources)
    .filter((policy) => (policy.Properties?.Roles as unknown[]).some((role: any) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties?.PolicyDocument.Statement as Array<Record<string, any>>);
}

/** The actions granted to that function, flattened. */
export function actionsOf(template: Template, service: string): string[] {
  return statementsOf(template, service).flatMap((statement) => [statement.Action].flat() as string[]);
}

/** The entry file of every function the stack bundles, by its Powertools service name. */
export function functionEntries(stack: GraphSyncJobsStack): Map<string, string> {
  const functions = stack.node.findAll().filter((construct): construct is ServiceFunction => construct instanceof ServiceFunction);
  return new Map(functions.map((fn) => [fn.serviceName, fn.entry]));
}
