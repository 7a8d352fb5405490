import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
    // Init time grows with the code Lambda loads: 250 KB per function, minified, measured on index.mjs, all that
    // loads at init. re2js is not in it: it is shipped beside the bundles that load it on first need (next test).
    // bench/README.md has the figures.
    for (const { service, code } of bundles) {
      const bytes = Buffer.byteLength(code);
      expect(bytes, `${service}: ${(bytes / 1024).toFixed(1)} KB`).toBeLessThanOrEqual(250 * 1024);
    }
  });

  it('loads re2js on first need only: never imported at init, shipped beside each bundle that imports it later', () => {
    const importing = bundles.filter(({ code }) => code.includes('import("re2js")'));
    // The functions that check or run tenants' regular expressions (functions/domain/mapping/tenant-regex.ts).
    expect(importing.map(({ service }) => service).sort()).toEqual(['jobs-schema-parse-expression', 'jobs-schema-put', syncWorkerServiceName].sort());
    for (const { service, dir, code } of bundles) {
      // No static import, which would load it at init.
      expect(code, service).not.toMatch(/from\s*"re2js"/);
      expect(existsSync(join(dir, 'node_modules', 're2js')), service).toBe(importing.some((bundle) => bundle.dir === dir));
    }
    for (const { service, dir } of importing) {
      // Resolved by Node from a module beside index.mjs, as Lambda resolves the bundle's import: from the asset's
      // own node_modules (the assembly is outside the repository, so nothing above it has the package).
      const probe = join(dir, 'probe.mjs');
      writeFileSync(probe, "const { RE2JS } = await import('re2js'); console.log(RE2JS.compile('a+').matcher('caab').find());");
      try {
        expect(execFileSync(process.execPath, [probe], { encoding: 'utf8' }).trim(), service).toBe('true');
      } finally {
        rmSync(probe);
      }
    }
  });
});
