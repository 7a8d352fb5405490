/**
 * Pacing against a rate-limited target: for R = 20 and 200 requests/s, the local SCIM service answers 429 (with
 * Retry-After in whole seconds) above R, and 16 workers create users through one HttpScimTarget with no
 * MaxRequestsPerSecond (the pace adapts on its own) for BENCH_SECONDS (default 45) each, over real HTTP on loopback.
 * Goal: at least 0.9 R accepted per second with at most 1% of requests answered 429.
 * Run: `npm run bench:pacing` (or `BENCH_SECONDS=30 npm run bench:pacing`).
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { HttpScimTarget } from '../functions/adapters/scim/http-scim-target.ts';
import { ThrottledError } from '../functions/ports/throttled-error.ts';
import { startLocalScimService } from '../local/scim-service/local-scim-service.ts';

const seconds = z.coerce.number().int().min(5).default(45).parse(process.env.BENCH_SECONDS);
const workers = 16;
const token = 'bench-pacing-token';
const userSchema = 'urn:ietf:params:scim:schemas:core:2.0:User';

const cpu = cpus();
console.log(`command:      ${seconds === 45 ? '' : `BENCH_SECONDS=${seconds} `}npm run bench:pacing`);
console.log(`machine:      ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);
console.log(`workers:      ${workers}, creating users (POST /Users), adaptive pace only`);

let met = true;
for (const limit of [20, 200]) {
  const service = await startLocalScimService({ token, recordRequests: true, rateLimit: { requestsPerSecond: limit } });
  const target = new HttpScimTarget({ baseUrl: service.url, token });
  let next = 0;
  let pauses = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: workers }, async () => {
        while (performance.now() < end) {
          const userName = `pacing-${limit}-${next++}@contoso.com`;
          try {
            await target.create('Users', { schemas: [userSchema], userName, active: true });
          } catch (error) {
            // A run would pause here until retryAt; the bench counts it and goes on.
            if (!(error instanceof ThrottledError)) throw error;
            pauses += 1;
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const requests = service.requests();
    const refused = requests.filter((request) => request.status === 429).length;
    const accepted = service.resources('Users').length;
    const perSecond = accepted / elapsed;
    const share = refused / requests.length;
    const ok = perSecond >= 0.9 * limit && share <= 0.01;
    met &&= ok;
    console.log(
      `R = ${String(limit).padEnd(3)}      ${elapsed.toFixed(1)} s, ${requests.length} requests sent, ${perSecond.toFixed(1)} accepted/s ` +
        `(${(perSecond / limit).toFixed(3)} R), ${refused} answered 429 (${(share * 100).toFixed(2)}%), ${pauses} given up; goal met: ${ok ? 'yes' : 'no'}`,
    );
  } finally {
    await target.close();
    await service.close();
  }
}
console.log(`goal:         >= 0.9 R accepted/s and <= 1% answered 429, for both: ${met ? 'met' : 'not met'}`);
