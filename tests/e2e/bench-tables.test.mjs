// bench/tables.mjs: the README's Performance tables, from a run's JSON, each
// number the run's own (a synthetic run here, every value distinct).

import assert from "node:assert/strict";
import { test } from "node:test";

import { compare } from "../../bench/lib/report.mjs";
import { tables } from "../../bench/tables.mjs";

/** One measurement: flows/s, CPU ms per flow, flow latency p50 / p99. */
const m = (flowsPerSec, cpu, p50 = 9, p99 = 18) => ({
  flowsPerSec,
  failed: 0,
  cpu: { workerdMsPerFlow: cpu, byRoleMsPerFlow: { worker: cpu } },
  latencyMs: { flow: { p50, p99 } },
});

function synthetic() {
  const round = { ours: 6, protocolFloor: 5, byteFloor: 5.25, sealed: 7, peer: 10, floor: 2, original: 40 };
  const results = {
    ours: { runs: [{ concurrency: 1, flows: m(100, 6), floor: m(400, 2), protocolFloor: m(120, 5), byteFloor: m(115, 5.25), rounds: [round] }] },
    sealed: { runs: [{ concurrency: 1, flows: m(90, 7), refresh: m(500, 1.5), consentPost: m(450, 2) }] },
    peer: { runs: [{ concurrency: 1, flows: m(80, 10), floor: m(300, 2.5) }] },
    original: { runs: [{ concurrency: 1, flows: m(20, 40), floor: m(400, 1.5), kvFloor: m(200, 3) }] },
  };
  const interleaved = { c1: { concurrency: 1, cpuOursOverProtocolFloor: { median: 1.15, range: [1.1, 1.3] } } };
  return {
    startedAt: "2026-12-03T16:00:00.000Z",
    machine: { cpus: 2, cpuModel: "AMD EPYC", memoryGiB: 24, node: "v20", wrangler: "4.86.0", workerd: "1", stateDir: "/tmp", stateFilesystem: "tmpfs" },
    settings: { rounds: 5, secondsPerMeasurement: 10, coldRuns: 15 },
    modes: { workerd: { ...results, comparisons: compare(results), interleaved } },
    coldStart: { workerd: { ours: { medianFirstResponseMs: 140 }, original: { medianFirstResponseMs: 115 } }, wranglerDev: {} },
    size: { wasm: { gzip: 157897 } },
  };
}

test("bench tables: each Worker's row and the targets' ratios come from the run", () => {
  const md = tables(synthetic(), "/x/target/bench/latest.json");
  const row = (label) => md.split("\n").find((l) => l.startsWith(`| ${label} |`));
  assert.equal(row("ours, passthrough (5 requests)"), "| ours, passthrough (5 requests) | 100.0 | 6.00 | 9.0 / 18.0 ms |");
  assert.equal(row("peer + its API request (6)"), "| peer + its API request (6) | 80.0 | 10.00 | 9.0 / 18.0 ms |");
  assert.equal(row("refresh, per request"), "| refresh, per request | 500.0 req/s | 1.50 | 9.0 / 18.0 ms |");
  assert.equal(row("passthrough / protocol floor, in turn (target ≤ 1.10)"), "| passthrough / protocol floor, in turn (target ≤ 1.10) | 1.150× [1.100–1.300] |");
  assert.equal(row("passthrough / protocol floor, in the slices"), "| passthrough / protocol floor, in the slices | 1.200× [1.200–1.200] |");
  assert.equal(row("sealed + open / peer (target ≤ 0.25)"), "| sealed + open / peer (target ≤ 0.25) | 0.700× [0.700–0.700] |");
  assert.equal(row("refresh / consent POST (target ≤ 1)"), "| refresh / consent POST (target ≤ 1) | 0.750× |");
  assert.equal(row("ours passthrough / peer"), "| ours passthrough / peer | 0.600× |");
  assert.equal(row("ours passthrough / original, flows/s"), "| ours passthrough / original, flows/s | 5.00× |");
  // Not measured in this run: a dash, not a number.
  assert.equal(row("sealed / passthrough, in turn (target ≤ 1.25)"), "| sealed / passthrough, in turn (target ≤ 1.25) | – |");
  assert.match(md, /ours 140 ms, the original 115/);
  assert.match(md, /WASM 157897 B gzipped/);
});
