/**
 * Bundle sizes and cold-start init: every function the CDK stack deploys, bundled by esbuild with the stack's own
 * options (lib/constructs/service-function.ts, through bench/support/bundle.ts), then imported `BENCH_RUNS` times,
 * each in a fresh Node.js process (median reported). The import is what Lambda's init does with the bundle: load the `@aws-sdk/*` packages it leaves
 * to the runtime (here from node_modules), then parse and evaluate the bundle itself; the two are timed apart, as
 * only the second is the bundle's. No network; the functions build their clients on first use, so nothing is called.
 * The packages the stack ships beside a bundle to load on first need (lazyModules) are not loaded at init, so not
 * measured with it; their minified size, and what importing one alone in a fresh process takes, are printed apart.
 * Run: `npm run bench:bundles` (BENCH_RUNS to change the default of 5).
 */
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod/mini';
import { lazyModules, projectRoot, serviceBundling } from '../lib/constructs/service-function.ts';
import { functionEntries, synthesize } from '../test/cdk/synth.ts';
import { bundleAsDeployed } from './support/bundle.ts';

/** The budget per bundle, minified. */
const BUDGET_BYTES = 250 * 1024;

const runs = z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(50)), 5).parse(process.env.BENCH_RUNS);

// What a deployed function's environment gives it (values are never used: nothing is called).
const environment = {
  ...process.env,
  TABLE_NAME: 'bench',
  SECRETS_KEY_ID: 'alias/bench',
  SCHEDULE_GROUP_NAME: 'bench',
  SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/bench',
  SYNC_FUNCTION_ARN: 'arn:aws:lambda:eu-west-1:123456789012:function:bench',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_LOG_LEVEL: 'WARN',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

interface Init {
  /** Loading the AWS SDK packages the bundle imports. */
  sdk: number;
  /** Then importing the bundle. */
  bundle: number;
}

/** Milliseconds one fresh process takes to load the bundle's AWS SDK packages, then the bundle itself. */
function initOf(file: string, sdkPackages: string[]): Init {
  const script = [
    'let t = performance.now();',
    ...sdkPackages.map((name) => `await import(${JSON.stringify(name)});`),
    'const sdk = performance.now() - t;',
    't = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'console.log(JSON.stringify({ sdk, bundle: performance.now() - t }));',
  ].join('\n');
  // Resolved from the repository, as the bundle resolves them.
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: environment, encoding: 'utf8', cwd: path.dirname(file) });
  return JSON.parse(output.trim()) as Init;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const entries = functionEntries(synthesize().stack);
// Inside the repository, so that the bundles find the `@aws-sdk/*` packages they leave out.
const outDir = mkdtempSync(path.join(projectRoot, '.bench-bundles-'));
try {
  const rows: Array<{ service: string; entry: string; bytes: number; sdk: number; bundle: number; lazy: string[] }> = [];
  for (const [service, entry] of entries) {
    const outfile = path.join(outDir, service, 'index.mjs');
    const { metafile } = await bundleAsDeployed(path.join(projectRoot, entry), outfile);
    const externalImports = Object.values(metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external));
    const sdkPackages = [...new Set(externalImports.filter((i) => i.path.startsWith('@aws-sdk/')).map((i) => i.path))];
    const lazy = [...new Set(externalImports.filter((i) => i.kind === 'dynamic-import' && i.path in lazyModules).map((i) => i.path))];
    const inits = Array.from({ length: runs }, () => initOf(outfile, sdkPackages));
    rows.push({
      service,
      entry,
      bytes: statSync(outfile).size,
      sdk: median(inits.map((init) => init.sdk)),
      bundle: median(inits.map((init) => init.bundle)),
      lazy,
    });
  }

  const cpu = cpus();
  console.log(`command:  ${process.env.BENCH_RUNS ? `BENCH_RUNS=${runs} ` : ''}npm run bench:bundles`);
  console.log(`machine:  ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
  console.log(`bundles:  esbuild ${serviceBundling.format}, ${serviceBundling.target}, minified, ${serviceBundling.externalModules.join(', ')} external; init = median import of ${runs} fresh processes`);
  console.log('');
  const width = Math.max(...rows.map((row) => row.entry.length));
  console.log(`${'entry'.padEnd(width)}  ${'size'.padStart(9)}  ${'bundle init'.padStart(11)}  ${'+ AWS SDK'.padStart(9)}  on first need`);
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  for (const row of rows.sort((a, b) => b.bytes - a.bytes)) {
    const over = row.bytes > BUDGET_BYTES ? '  over 250 KB' : '';
    console.log(`${row.entry.padEnd(width)}  ${kb(row.bytes).padStart(9)}  ${ms(row.bundle).padStart(11)}  ${ms(row.sdk).padStart(9)}  ${(row.lazy.join(', ') || '-').padEnd(13)}${over}`.trimEnd());
  }
  console.log(`within:   ${rows.filter((row) => row.bytes <= BUDGET_BYTES).length} of ${rows.length} bundles within 250 KB`);
  for (const [name, { esm }] of Object.entries(lazyModules)) {
    // Minified as the stack ships it (lib/constructs/service-function.ts).
    const outfile = path.join(outDir, 'lazy', `${name}.mjs`);
    await build({ entryPoints: [path.join(projectRoot, 'node_modules', name, esm)], outfile, minify: true, format: 'esm', target: serviceBundling.target, logLevel: 'error' });
    const load = median(Array.from({ length: runs }, () => initOf(outfile, []).bundle));
    const users = rows.filter((row) => row.lazy.includes(name)).length;
    console.log(
      `${name}:${' '.repeat(Math.max(1, 9 - name.length))}${kb(statSync(outfile).size)}, shipped beside the ${users} bundles that import it on first need ` +
        `(not at init); that import: ${ms(load)}`,
    );
  }
} finally {
  rmSync(outDir, { recursive: true, force: true });
}
