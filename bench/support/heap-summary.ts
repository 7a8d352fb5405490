/**
 * Summarises V8 heap snapshots (`v8.writeHeapSnapshot()`) by constructor: count and self size of each, largest
 * first; given two, what grew from the first to the second. Self sizes only (no retained sizes): enough to see
 * which kind of object a heap gains between two points of a run.
 * Run: `npx tsx bench/support/heap-summary.ts before.heapsnapshot [after.heapsnapshot]`.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}
type Totals = Map<string, { count: number; bytes: number }>;

/** Objects by constructor name; strings, code, arrays and the engine's own kinds by their type. */
function totalsOf(path: string): Totals {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field)) as [number, number, number];
  const types = snapshot.meta.node_types[0];
  const totals: Totals = new Map();
  for (let at = 0; at < nodes.length; at += width) {
    const type = types[nodes[at + typeAt]!]!;
    const key = type === 'object' || type === 'closure' ? `${strings[nodes[at + nameAt]!]} (${type})` : `(${type})`;
    const entry = totals.get(key) ?? { count: 0, bytes: 0 };
    entry.count += 1;
    entry.bytes += nodes[at + sizeAt]!;
    totals.set(key, entry);
  }
  return totals;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
const [firstPath, secondPath] = process.argv.slice(2);
if (!firstPath) throw new Error('usage: heap-summary.ts before.heapsnapshot [after.heapsnapshot]');
const first = totalsOf(firstPath);
const sum = (totals: Totals) => [...totals.values()].reduce((all, entry) => all + entry.bytes, 0);
if (!secondPath) {
  console.log(`${firstPath}: ${kb(sum(first))} in all`);
  for (const [name, { count, bytes }] of [...first].sort(([, a], [, b]) => b.bytes - a.bytes).slice(0, 30)) {
    console.log(`${kb(bytes).padStart(10)} ${String(count).padStart(8)}  ${name}`);
  }
} else {
  const second = totalsOf(secondPath);
  console.log(`${firstPath}: ${kb(sum(first))}; ${secondPath}: ${kb(sum(second))}; growth by constructor (bytes, count):`);
  const names = new Set([...first.keys(), ...second.keys()]);
  const growth = [...names].map((name) => {
    const a = first.get(name) ?? { count: 0, bytes: 0 };
    const b = second.get(name) ?? { count: 0, bytes: 0 };
    return { name, bytes: b.bytes - a.bytes, count: b.count - a.count, now: b.bytes };
  });
  for (const { name, bytes, count, now } of growth.sort((a, b) => Math.abs(b.bytes) - Math.abs(a.bytes)).slice(0, 30)) {
    console.log(`${(bytes >= 0 ? '+' : '') + kb(bytes)}`.padStart(11) + `${(count >= 0 ? ' +' : ' ') + count}`.padStart(10) + `  ${name} (now ${kb(now)})`);
  }
}
