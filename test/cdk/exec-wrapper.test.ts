import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { execWrapperSource, projectRoot } from '../../lib/constructs/service-function.ts';

const wrapper = path.join(projectRoot, execWrapperSource);
const dir = mkdtempSync(path.join(tmpdir(), 'exec-wrapper-'));
const script = path.join(dir, 'heap-limit.mjs');
writeFileSync(script, "import v8 from 'node:v8'; console.log(JSON.stringify({ limit: v8.getHeapStatistics().heap_size_limit, argv: process.execArgv }));");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What node reports when started as `command`, through the wrapper or not. */
const run = (command: string[], flags?: string) =>
  JSON.parse(execFileSync(command[0]!, command.slice(1), { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', EXEC_WRAPPER_NODE_FLAGS: flags } })) as { limit: number; argv: string[] };

describe('exec wrapper', () => {
  // Lambda's bootstrap runs it as `<wrapper> node <its flags> <entry file>`, the heap sizes of the memory size among them.
  const lambdaFlags = ['--expose-gc', '--max-http-header-size', '81920', '--max-semi-space-size=25', '--max-old-space-size=461'];

  it('is executable, as Lambda requires (the package keeps the file mode)', () => {
    expect(statSync(wrapper).mode & 0o111).toBe(0o111);
  });

  it("gives node the function's flags after the runtime's, so they win", () => {
    const wrapped = run([wrapper, process.execPath, ...lambdaFlags, script], '--max-semi-space-size=4 --stack-size=900');
    expect(wrapped.argv).toEqual([...lambdaFlags, '--max-semi-space-size=4', '--stack-size=900']);
    // The heap limit is the old space and the young generation: as node started with the smaller semi-space alone.
    expect(wrapped.limit).toBe(run([process.execPath, '--max-semi-space-size=4', '--max-old-space-size=461', script]).limit);
    expect(wrapped.limit).toBeLessThan(run([process.execPath, ...lambdaFlags, script]).limit);
  });

  it('runs the command unchanged without flags', () => {
    expect(run([wrapper, process.execPath, ...lambdaFlags, script]).argv).toEqual(lambdaFlags);
  });
});
