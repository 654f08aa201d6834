#!/usr/bin/env node
// The sealed flow against the passthrough flow, in turn (C flows at once), in
// plain workerd (bench/lib/interleaved.mjs; `make bench` reports the same
// beside its slices, with its own settings): ours passthrough, and ours
// sealed with the example MCP server opening its tokens (bench/lib/sealed.mjs:
// the same six steps as `make bench`). Prints µs per flow and
// sealed/passthrough with and without the resource server, the median of
// the rounds and their range.
//
//   node bench/probes/sealed-interleaved.mjs
//
// Env: R rounds (default 8), N turns per Worker and round (60), C flows at
// once per turn (1), W warm-up flows per Worker (100). With TMPDIR=/dev/shm the runtimes' storage is on
// tmpfs (README, Performance).

import { oursWorkerOptions } from "../lib/coldstart.mjs";
import { oursFlow } from "../lib/flows.mjs";
import { interleavedFlows, ratioOf } from "../lib/interleaved.mjs";
import { startMiniflare } from "../lib/runtime.mjs";
import { sealedFlow, startSealed } from "../lib/sealed.mjs";

const R = Number(process.env.R || 8);
const N = Number(process.env.N || 60);
const W = Number(process.env.W || 100);
const C = Number(process.env.C || 1);

const passthrough = await startMiniflare({ label: "passthrough", options: oursWorkerOptions({}) });
let sealed;
try {
  sealed = await startSealed({ mode: "workerd" });
  const workers = {
    passthrough: { flow: () => oursFlow(passthrough.base), runtimes: { provider: passthrough } },
    sealed: { flow: () => sealedFlow(sealed.base, sealed), runtimes: { provider: sealed.provider, resource: sealed.mcp } },
  };
  for (let i = 0; i < W; i++) for (const w of Object.values(workers)) await w.flow();
  const rounds = await interleavedFlows(workers, { rounds: R, flows: N, concurrency: C });
  const us = (label, part) => [...rounds.map((r) => r[label][part])].sort((a, b) => a - b)[R >> 1].toFixed(0);
  const cell = ({ median, range }) => `${median.toFixed(3)}x [${range[0].toFixed(3)}-${range[1].toFixed(3)}]`;
  console.log(`µs per flow: passthrough ${us("passthrough", "total")}, sealed provider ${us("sealed", "provider")} + resource server ${us("sealed", "resource")}`);
  console.log(`sealed/passthrough ${cell(ratioOf(rounds, "sealed", "passthrough"))}`);
  console.log(`provider alone     ${cell(ratioOf(rounds, "sealed", "passthrough", "provider"))}`);
} finally {
  await sealed?.stop();
  await passthrough.stop();
}
