#!/usr/bin/env node
// Which part of a cold start costs what: fresh workerds (through Miniflare,
// as `make bench` starts them) of Workers that differ by one thing at a
// time, started in turn (one of each per round, so that the machine's drift
// falls on all alike), from `new Miniflare()` to the first answered metadata
// request. Prints each one's medians: to the first response, to workerd
// ready, and the first request alone.
//
//   wasmOnly      "WASM only": a JavaScript Worker that imports our WASM
//                 (compiled at load) and never instantiates it; no bindings
//   kv            "WASM+KV": the same with a KV namespace (the original has one)
//   kvVars        "+ KV, vars": ... and our vars
//   bindings      "WASM+bindings": ... and the GRANTS Durable Object namespace
//   instantiated  "JS answer": our three modules and bindings (the WASM
//                 instantiated, its start and worker-build's set-up run),
//                 answering in JavaScript
//   oursKvOnly    ours without the GRANTS namespace
//   ours          ours as `make bench` measures it
//   original      the JavaScript original (KV and one var)
//
// Each step against the one above it is what that step costs; `ours`
// against `JS answer` is our first request's own work (V8 compiling
// the WASM functions it reaches, lazily, and running them).
//
//   node bench/probes/cold-start-parts.mjs
//
// Env: N rounds (default 12), ONLY a comma-separated subset of the keys
// above (e.g. ONLY=kv,ours,original).

import { coldStartFloors, coldStarts, originalWorkerOptions, oursWorkerOptions } from "../lib/coldstart.mjs";

const N = Number(process.env.N || 12);
const floors = coldStartFloors();
const [, wasmKv] = floors.wasmKvFloor;
const parts = {
  wasmOnly: floors.wasmFloor,
  kv: floors.wasmKvFloor,
  kvVars: ["+ KV, vars", { ...wasmKv, bindings: oursWorkerOptions().bindings }],
  bindings: floors.wasmBindingsFloor,
  instantiated: floors.instantiatedFloor,
  oursKvOnly: floors.oursKvOnly,
  ours: floors.ours,
  original: ["original", await originalWorkerOptions()],
};
const keys = process.env.ONLY ? process.env.ONLY.split(",") : Object.keys(parts);
for (const k of keys) if (!parts[k]) throw new Error(`unknown part ${k}; one of ${Object.keys(parts).join(", ")}`);

const samples = Object.fromEntries(keys.map((k) => [k, []]));
for (const k of keys) await coldStarts(parts[k][1], 1); // unrecorded: disk caches
for (let i = 0; i < N; i++) for (const k of keys) samples[k].push(...(await coldStarts(parts[k][1], 1)));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`${N} fresh workerds each, in turn; medians in ms`);
for (const k of keys) {
  const runs = samples[k];
  const at = (field) => median(runs.map((s) => s[field])).toFixed(1).padStart(6);
  console.log(`${parts[k][0].padEnd(18)} first response ${at("firstResponseMs")}  ready ${at("readyMs")}  first request ${at("firstRequestMs")}`);
}
