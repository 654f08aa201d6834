// Flows sent to several Workers in turn, one turn at a time (a turn is
// `concurrency` flows at once to one Worker), each turn's CPU read around it
// in nanoseconds (runNs): the machine's drift,
// which moves rounds of seconds by ±20% against each other, then falls on
// every Worker within milliseconds. What `make bench` reports beside its
// slices for the ratios of one implementation to another, and what
// bench/probes/sealed-interleaved.mjs prints.

import { runNs } from "./runtime.mjs";

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

/**
 * `workers`: { label: { flow: () => Promise, runtimes: { part: runtime } } }.
 * `rounds` rounds of `flows` turns per Worker, each of `concurrency` flows
 * at once, each iteration starting at another Worker. Returns, per round,
 * each Worker's µs of CPU per flow in total and per part
 * ({ label: { total, [part]: µs } }).
 */
export async function interleavedFlows(workers, { rounds, flows, concurrency = 1 }) {
  const labels = Object.keys(workers);
  const out = [];
  for (let round = 0; round < rounds; round++) {
    const ns = Object.fromEntries(labels.map((l) => [l, Object.fromEntries(Object.keys(workers[l].runtimes).map((p) => [p, 0]))]));
    for (let i = 0; i < flows; i++) {
      for (let j = 0; j < labels.length; j++) {
        const label = labels[(i + j) % labels.length];
        const parts = Object.entries(workers[label].runtimes);
        const before = parts.map(([, rt]) => runNs(rt));
        await Promise.all(Array.from({ length: concurrency }, () => workers[label].flow()));
        parts.forEach(([part, rt], k) => (ns[label][part] += runNs(rt) - before[k]));
      }
    }
    out.push(
      Object.fromEntries(
        labels.map((l) => {
          const perFlow = Object.fromEntries(Object.entries(ns[l]).map(([p, v]) => [p, v / (flows * concurrency) / 1000]));
          return [l, { total: Object.values(perFlow).reduce((a, b) => a + b, 0), ...perFlow }];
        }),
      ),
    );
  }
  return out;
}

/** A ratio over `rounds` (of interleavedFlows): its median and its rounds' range. */
export function ratioOf(rounds, a, b, part = "total") {
  const values = rounds.map((r) => r[a][part] / r[b].total);
  return { median: median(values), range: [Math.min(...values), Math.max(...values)] };
}
