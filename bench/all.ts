/**
 * `npm run bench`: the benchmarks behind the README's figures, one after the other (each also runs on its own as
 * `npm run bench:<name>`), then a summary of their headline lines. Each child prints its own command and machine.
 */
import { spawn } from 'node:child_process';

const benchmarks = [
  { name: 'idle-tick', headline: /^(idle tick|job items|goal):/ },
  { name: 'initial-sync', headline: /^(initial sync|worker CPU|DynamoDB|raw loader|ratio|goal):/ },
  { name: 'initial-sync-at-limit', headline: /^(target|initial sync|raw loader|ratio|goal):/ },
  { name: 'scale', headline: /^(directory:|initial sync:|restart Full:|token expired:|worker CPU|worker RSS|after GC|goal:)/ },
  { name: 'bundles', headline: /over 250 KB|^within:/ },
];

function run(name: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    // Through npm, so each runs as its own script runs it.
    const child = spawn('npm', ['run', '--silent', `bench:${name}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      process.stdout.write(chunk);
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

const summary: string[] = [];
let failed = 0;
for (const { name, headline } of benchmarks) {
  console.log(`\n=== npm run bench:${name}\n`);
  const { code, output } = await run(name);
  if (code !== 0) failed += 1;
  summary.push(`bench:${name}${code === 0 ? '' : ` (exit ${code})`}`);
  for (const line of output.split('\n')) if (headline.test(line.trim())) summary.push(`  ${line.trim()}`);
}
console.log(`\n=== summary\n${summary.join('\n')}`);
process.exitCode = failed === 0 ? 0 : 1;
