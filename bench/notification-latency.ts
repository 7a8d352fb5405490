/**
 * Change notifications: the time from a change in the local directory to the change visible in the local SCIM
 * service, with the job's interval at PT40M so the schedule cannot be the cause. 50 changes one after the other
 * (goal p50 ≤ 2 s, p99 ≤ 5 s), then a burst of 1,000 changes: how many runs it caused and the time to steady
 * state. The whole local stack as `npm start` runs it (webhook, worker in-process, real HTTP on loopback).
 * Run: `npm run bench:notifications`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startTestStack, syncPath } from '../test/support/local-stack.ts';

const SP = 'bench-notified-app';
const USERS = 200;
const cpu = cpus();
console.log('command:      npm run bench:notifications');
console.log(`machine:      ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, node ${process.version}`);

const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-notifications-'));
const t = await startTestStack({ dataDir, changeNotifications: true, seed: { users: USERS, groups: 2 } });

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return performance.now() - started;
}
const directory = (method: string, route: string, body?: unknown) =>
  fetch(`${t.stack.directoryUrl}/${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
const titleOf = (nickname: string) => t.stack.scim.resources('Users').find((user) => user.externalId === nickname)?.title;

try {
  const jobId = (await t.api('POST', syncPath(SP, '/jobs'), { body: { templateId: 'scim', schedule: { interval: 'PT40M' } } })).json.id as string;
  const secrets = [
    { key: 'BaseAddress', value: t.stack.scimUrl },
    { key: 'SecretToken', value: t.stack.scimToken },
    { key: 'SyncAll', value: 'true' },
  ];
  await t.api('PUT', syncPath(SP, '/secrets'), { body: { value: secrets } });
  await t.api('POST', syncPath(SP, `/jobs/${jobId}/start`));
  await until(async () => (await t.api('GET', syncPath(SP, `/jobs/${jobId}`))).json.status.changeNotifications.state === 'active' && t.stack.scim.resources('Users').length === USERS, 120_000);
  await t.stack.workerRunsSettled();
  const users = ((await (await directory('GET', 'users?$select=id,mailNickname&$top=999')).json()) as { value: { id: string; mailNickname: string }[] }).value;

  const latencies: number[] = [];
  for (let i = 0; i < 50; i += 1) {
    const user = users[i % users.length]!;
    const title = `Latency ${i}`;
    const started = performance.now();
    await directory('PATCH', `users/${user.id}`, { jobTitle: title });
    await until(() => titleOf(user.mailNickname) === title, 30_000);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length * 0.5)]! / 1000;
  const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1]! / 1000;
  console.log(`latency:      50 changes, p50 ${p50.toFixed(2)} s, p99 ${p99.toFixed(2)} s, max ${(latencies.at(-1)! / 1000).toFixed(2)} s; goal met: ${p50 <= 2 && p99 <= 5 ? 'yes' : 'no'}`);

  await t.stack.workerRunsSettled();
  const since = new Date().toISOString();
  const started = performance.now();
  for (let i = 0; i < 1000; i += 1) {
    const user = users[i % users.length]!;
    await directory('PATCH', `users/${user.id}`, { department: `Burst ${i}` });
  }
  const changedIn = (performance.now() - started) / 1000;
  const last = new Map(users.map((user, index) => [user.mailNickname, `Burst ${1000 - users.length + index}`]));
  const department = (nickname: string) =>
    (t.stack.scim.resources('Users').find((user) => user.externalId === nickname)?.['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] as { department?: string } | undefined)?.department;
  await until(() => [...last].every(([nickname, value]) => department(nickname) === value), 120_000);
  await t.stack.workerRunsSettled();
  const steady = (performance.now() - started) / 1000;
  const cycles = new Set<string>();
  let next: string | undefined = `/auditLogs/provisioning?$filter=${encodeURIComponent(`jobId eq '${jobId}' and activityDateTime gt ${since}`)}&$top=1000`;
  while (next) {
    const page = (await t.api('GET', next)).json as { value: { cycleId: string }[]; '@odata.nextLink'?: string };
    for (const record of page.value) cycles.add(record.cycleId);
    next = page['@odata.nextLink']?.slice(t.stack.apiUrl.length);
  }
  console.log(`burst:        1,000 changes to ${users.length} users made in ${changedIn.toFixed(1)} s, ${cycles.size} runs wrote records, steady state ${steady.toFixed(1)} s after the first change`);
} finally {
  await t.close();
  await rm(dataDir, { recursive: true, force: true });
}
