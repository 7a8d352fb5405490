import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusPageHtml } from '../../functions/api/status-page-html.ts';
import { synthesize } from './synth.ts';

describe('AWS Solutions checks (cdk-nag)', () => {
  it('report no unacknowledged finding', () => {
    // `cdk synth` fails on any finding; catching it here names the resource instead of failing CI later.
    const { stack } = synthesize();
    const findings = new AwsSolutionsChecks(stack)
      .validateScope(stack)
      .violations.map((violation) => `${violation.ruleName} at ${violation.violatingResources.map((r) => r.resourceLogicalId).join(', ')}`);
    expect(findings).toEqual([]);
  });

  it('still report what the stack does not acknowledge', () => {
    // Guards the test above: the pack must really run over this stack, and the acknowledgements must stay narrow.
    const { stack } = synthesize();
    new sqs.Queue(stack, 'UnacknowledgedQueue');
    const rules = new AwsSolutionsChecks(stack).validateScope(stack).violations.map((violation) => violation.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
  });
});

describe('bundling', () => {
  it('builds every function with the local esbuild into minified ESM with a source map', () => {
    // Docker is not available to build with, and the functions are ESM (`"type":"module"`).
    const { app, template } = synthesize(undefined, { bundle: true });
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(1);
    for (const fn of functions) {
      const dir = join(app.outdir, `asset.${(fn.Properties.Code.S3Key as string).replace(/\.zip$/, '')}`);
      expect(existsSync(join(dir, 'index.mjs.map')), dir).toBe(true);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith("import { createRequire } from 'node:module'"), dir).toBe(true);
      // Minified: about one line per kilobyte at most (template literals keep their own line breaks, and the status
      // page's function is mostly its document's); unminified output has dozens of lines per kilobyte.
      const document = fn.Properties.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'status-page' ? statusPageHtml.split('\n').length : 0;
      expect(code.split('\n').length, dir).toBeLessThan(code.length / 1000 + 20 + document);
    }
    rmSync(app.outdir, { recursive: true, force: true });
    // One esbuild run per function, two dozen in all: on a busy two-core machine that takes minutes, not one.
  }, 300_000);
});
