// Inclusive seconds of the named functions in a V8 .cpuprofile (node --cpu-prof): the samples with such a frame on
// their stack. The native kernel's threads run while runNative waits on them, so its time counts there.
// usage: node bench/retrieval/profile-sum.mjs <file.cpuprofile> <functionName>...  -> {"name": seconds, ...}
import { readFileSync } from 'node:fs';

const [file, ...names] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const parent = new Map();
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const out = Object.fromEntries(names.map((n) => [n, 0]));
for (let s = 0; s < prof.samples.length; s++) {
  const seen = new Set();
  for (let id = prof.samples[s]; id !== undefined; id = parent.get(id)) seen.add(byId.get(id).callFrame.functionName);
  for (const n of names) if (seen.has(n)) out[n] += (prof.timeDeltas[s] ?? 0) / 1e6;
}
console.log(JSON.stringify(Object.fromEntries(Object.entries(out).map(([k, v]) => [k, +v.toFixed(2)]))));
