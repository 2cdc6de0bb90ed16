#!/usr/bin/env node
// Summarises a .cpuprofile (from `scripts/profile-save.sh` or `BENCH_PROFILE=... make bench-save`).
//   node scripts/profile-top.mjs FILE            the 25 functions with the most self and total time
//   node scripts/profile-top.mjs FILE NAME       where the time under functions named NAME went
// Demangled Rust symbols lose their `::h<hash>` suffix (profile-save.sh keeps them mangled).
import { readFileSync } from 'node:fs';

const [file, under] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfMs = new Map();
profile.samples.forEach((id, i) => selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
const name = (n) =>
  `${(n.callFrame.functionName || '(anonymous)').replace(/::h[0-9a-f]{16}/g, '')} ${n.callFrame.url.split('/').pop()}`.trim();
const totals = new Map();
const total = (n) => {
  if (!totals.has(n.id)) {
    totals.set(n.id, (n.children ?? []).reduce((t, c) => t + total(byId.get(c)), selfMs.get(n.id) ?? 0));
  }
  return totals.get(n.id);
};
const all = total(profile.nodes[0]);
const show = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, ms] of [...m].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${ms.toFixed(1).padStart(9)} ms  ${k.slice(0, 180)}`);
  }
};

if (under) {
  // The outermost calls of NAME, and their callees by name.
  const callees = new Map();
  let sum = 0;
  const walk = (n, inside) => {
    const match = !inside && name(n).includes(under);
    if (match) {
      sum += total(n);
      for (const c of n.children ?? []) {
        const k = name(byId.get(c));
        callees.set(k, (callees.get(k) ?? 0) + total(byId.get(c)));
      }
    }
    for (const c of n.children ?? []) walk(byId.get(c), inside || match);
  };
  walk(profile.nodes[0], false);
  show(`under ${under}: ${sum.toFixed(1)} ms of ${all.toFixed(0)} ms sampled`, callees);
} else {
  const self = new Map();
  const inclusive = new Map();
  for (const [id, ms] of selfMs) {
    const k = name(byId.get(id));
    self.set(k, (self.get(k) ?? 0) + ms);
  }
  const walk = (n, onStack) => {
    const k = name(n);
    if (!onStack.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + total(n));
    const next = new Set(onStack).add(k);
    for (const c of n.children ?? []) walk(byId.get(c), next);
  };
  walk(profile.nodes[0], new Set());
  show(`self time (of ${all.toFixed(0)} ms sampled)`, self);
  show('total time (self and callees)', inclusive);
}
