#!/usr/bin/env node
// The sealed flow against the passthrough flow, flow by flow in turn, in
// plain workerd: the target "sealed <= 1.25x passthrough" measured so that
// the machine's drift falls on both within milliseconds (`make bench`
// measures them in separate slices of seconds, and its rounds move by
// ±20%). Ours passthrough, and ours sealed with the example MCP server
// opening its tokens (bench/lib/sealed.mjs: the same six steps as
// `make bench`), each iteration starting at the other one. CPU is each
// workerd's threads' run time in nanoseconds. Prints µs per flow and, per
// round, sealed/passthrough with and without the resource server.
//
//   node bench/probes/sealed-interleaved.mjs
//
// Env: R rounds (default 8), N flows per Worker and round (60), W warm-up
// flows per Worker (100). With TMPDIR=/dev/shm the runtimes' storage is on
// tmpfs (README, Performance).

import { oursWorkerOptions } from "../lib/coldstart.mjs";
import { oursFlow } from "../lib/flows.mjs";
import { runNs, startMiniflare } from "../lib/runtime.mjs";
import { sealedFlow, startSealed } from "../lib/sealed.mjs";

const R = Number(process.env.R || 8);
const N = Number(process.env.N || 60);
const W = Number(process.env.W || 100);

const passthrough = await startMiniflare({ label: "passthrough", options: oursWorkerOptions({}) });
let sealed;
try {
  sealed = await startSealed({ mode: "workerd" });
  const flows = [
    () => oursFlow(passthrough.base),
    () => sealedFlow(sealed.base, sealed),
  ];
  for (let i = 0; i < W; i++) for (const flow of flows) await flow();
  const rounds = [];
  for (let round = 0; round < R; round++) {
    const ns = { passthrough: 0, provider: 0, resource: 0 };
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < 2; j++) {
        const which = (i + j) % 2;
        const before = [runNs(passthrough), runNs(sealed.provider), runNs(sealed.mcp)];
        await flows[which]();
        const after = [runNs(passthrough), runNs(sealed.provider), runNs(sealed.mcp)];
        if (which === 0) ns.passthrough += after[0] - before[0];
        else {
          ns.provider += after[1] - before[1];
          ns.resource += after[2] - before[2];
        }
      }
    }
    rounds.push(Object.fromEntries(Object.entries(ns).map(([k, v]) => [k, v / N / 1000])));
  }
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  const cell = (values) => `${median(values).toFixed(3)}x [${Math.min(...values).toFixed(3)}-${Math.max(...values).toFixed(3)}]`;
  const us = (k) => median(rounds.map((r) => r[k])).toFixed(0);
  console.log(`µs per flow: passthrough ${us("passthrough")}, sealed provider ${us("provider")} + resource server ${us("resource")}`);
  console.log(`sealed/passthrough ${cell(rounds.map((r) => (r.provider + r.resource) / r.passthrough))}`);
  console.log(`provider alone     ${cell(rounds.map((r) => r.provider / r.passthrough))}`);
} finally {
  await sealed?.stop();
  await passthrough.stop();
}
