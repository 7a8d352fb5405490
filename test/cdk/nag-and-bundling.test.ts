import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusPageHtml } from '../../functions/api/status-page-html.ts';
import { syncWorkerServiceName } from '../../lib/constructs/sync-worker.ts';
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
  // Bundled once (every function, by the local esbuild) for the tests below.
  let bundles: Array<{ service: string; dir: string; code: string; environment: Record<string, string> }>;
  let outdir: string;
  beforeAll(() => {
    const { app, template } = synthesize(undefined, { bundle: true });
    outdir = app.outdir;
    bundles = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => {
      const dir = join(app.outdir, `asset.${(fn.Properties.Code.S3Key as string).replace(/\.zip$/, '')}`);
      const environment = fn.Properties.Environment.Variables as Record<string, string>;
      return { service: environment.POWERTOOLS_SERVICE_NAME!, dir, code: readFileSync(join(dir, 'index.mjs'), 'utf8'), environment };
    });
  }, 300_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('builds every function with the local esbuild into minified ESM with a source map', () => {
    // Docker is not available to build with, and the functions are ESM (`"type":"module"`).
    expect(bundles.length).toBeGreaterThan(1);
    for (const { dir, code, environment } of bundles) {
      expect(existsSync(join(dir, 'index.mjs.map')), dir).toBe(true);
      expect(code.startsWith("import { createRequire } from 'node:module'"), dir).toBe(true);
      // Minified: about one line per kilobyte at most (template literals keep their own line breaks, and the status
      // page's function is mostly its document's); unminified output has dozens of lines per kilobyte.
      const document = environment.POWERTOOLS_SERVICE_NAME === 'status-page' ? statusPageHtml.split('\n').length : 0;
      expect(code.split('\n').length, dir).toBeLessThan(code.length / 1000 + 20 + document);
    }
  });

  it("packages the worker's exec wrapper, executable, where its environment names it", () => {
    // Lambda fails every invocation of a function whose wrapper is missing or not executable.
    const worker = bundles.find((bundle) => bundle.service === syncWorkerServiceName)!;
    const wrapper = join(worker.dir, basename(worker.environment.AWS_LAMBDA_EXEC_WRAPPER!));
    expect(worker.environment.AWS_LAMBDA_EXEC_WRAPPER).toBe('/var/task/exec-wrapper.sh');
    expect(statSync(wrapper).mode & 0o111).toBe(0o111);
    for (const { dir, environment } of bundles.filter((bundle) => bundle.service !== syncWorkerServiceName)) {
      expect(existsSync(join(dir, 'exec-wrapper.sh')), environment.POWERTOOLS_SERVICE_NAME).toBe(false);
    }
  });

  it('keeps every bundle within its cold-start budget', () => {
    // Init time grows with the code Lambda loads: 250 KB per function, minified. Over it, with why and a ceiling
    // that may only come down (bench/README.md has the figures):
    const overBudget: Record<string, number> = {
      // re2js (147 KB) compiles the tenant's regular expressions these two check or run (jose, 19 KB, verifies tokens).
      'jobs-schema-put': 320 * 1024,
      'jobs-schema-parse-expression': 320 * 1024,
      // undici (522 KB) for the SCIM and directory clients, and re2js for mappings and scoping filters.
      [syncWorkerServiceName]: 960 * 1024,
    };
    const sizes = Object.fromEntries(bundles.map(({ service, code }) => [service, Buffer.byteLength(code)]));
    for (const [service, bytes] of Object.entries(sizes)) {
      expect(bytes, `${service}: ${(bytes / 1024).toFixed(1)} KB`).toBeLessThanOrEqual(overBudget[service] ?? 250 * 1024);
    }
    // Every exception still names a function the stack has.
    expect(Object.keys(sizes)).toEqual(expect.arrayContaining(Object.keys(overBudget)));
  });
});
