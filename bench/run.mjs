#!/usr/bin/env node
// `make bench`: our Worker against its floors, the best peer and the original.
//
// For each runtime mode —
//   wrangler: `wrangler dev --local` with fresh local state, as `make dev`
//             runs it (the repository's wrangler.toml minus [build]: `make
//             bench` builds first, and a source edit during the run must not
//             rebuild and restart the worker). Requests go through wrangler's
//             dev proxy (a second workerd) and, for ours, static-assets routing.
//   workerd:  the same built Workers, each in one plain workerd through
//             Miniflare, without the dev proxy, middleware or assets routing:
//             closer to what the production runtime spends on the Worker.
// — and each implementation, each in its own runtime —
//   ours (passthrough): complete flows (metadata -> register -> consent page
//             -> consent POST -> token, a fresh PKCE pair and key per flow,
//             the key checked: the access token is the key) for a fixed time
//             at each concurrency, then its floor: as many flows of five
//             GET /__noop (answered without provider work);
//   ours sealed (lib/sealed.mjs): our Worker again with TOKEN_MODE=sealed
//             (JWE, grants in the GRANTS Durable Object, SQLite-backed) and
//             the example MCP server (examples/mcp-server, RESOURCE_KEY
//             derived from the bench's SECRET) in runtimes of their own: the
//             same five steps with `resource` = the MCP server's /mcp, then
//             tools/call whoami at /mcp with the token, which the MCP server
//             opens (the masked key must be the typed one). Its CPU is both
//             runtimes'. Then, on the sealed provider alone, a loop of
//             refreshes (grant_type=refresh_token, each on the successor of
//             the last, on lineages begun by sealed flows before the rounds)
//             and a loop of as many consent POSTs (their pages fetched
//             beforehand, outside the measurement): CPU per request of each;
//   peer (lib/peer.mjs): npm @cloudflare/workers-oauth-provider@1.2.3 in a
//             minimal Worker doing our job (bench/peer/): metadata ->
//             register -> consent page -> consent POST -> token -> GET
//             /api/key (the library checks the token and decrypts the
//             grant's props; the body must be the typed key), and its floor,
//             six GET /__noop per flow;
//   original: npm parallel-oauth-provider@0.0.13 in a minimal Worker
//             (bench/original/), its own flow (the page's script POSTs a
//             browser-made code to /store-key), and its floor likewise,
// it records flows/s, p50/p95/p99 per step and per flow, failures, and the
// CPU milliseconds of the workerd processes per flow (/proc utime+stime,
// children included, before and after).
//
// Two more references. "JS+KV floor" runs on the original's runtime: two
// no-op requests and three requests doing one KV operation each (what a
// flow's store traffic costs the local runtime, where KV is simulated in
// the same workerd process; in production it is a remote call). "Protocol
// floor" runs in plain workerd only, in its own workerd: a JS Worker
// (bench/protocol-floor/) that answers our passthrough flow with our own
// responses, captured from our Worker at the start (same statuses, headers
// and bodies), reads the same request bodies and does the same storage
// operations (three KV operations, and the GRANTS Durable Object call that
// records the passthrough approval), but checks and encrypts nothing: the
// least any Worker speaking our flow's messages spends here. Against the
// peer it is a lower bound too (protocol floor / peer): the sealed flow
// does all of its storage operations and more. "Byte floor" (plain workerd
// too, bench/byte-floor/): the protocol floor with each request and response
// handed through a WASM's memory as bytes, the fewest crossings a Worker
// written in WASM could make, its WASM doing nothing but copy: byte floor /
// protocol floor is what such a Worker pays before any work.
//
// The measurements of one mode run interleaved: all implementations are up
// at once, and each concurrency runs BENCH_ROUNDS rounds of ours, its floor,
// the protocol floor, the byte floor, ours sealed, the refresh loop, the consent POST loop,
// the peer, its floor, the original, its floor and the JS+KV floor, summed
// per measurement (so that the machine's drift falls on all alike). Each
// implementation first runs unrecorded (BENCH_WARMUP_SECONDS): V8 optimizes
// hot code only after it has run a while. After the slices, flows are sent
// to ours, the protocol floor (plain workerd) and ours sealed in turn, at
// each concurrency a turn of that many flows at once to one Worker
// (lib/interleaved.mjs, BENCH_ROUNDS rounds of BENCH_INTERLEAVED_FLOWS flows
// per Worker at c=1, twice as many above), so that passthrough/protocol floor and sealed/passthrough are
// measured within milliseconds of each other too.
//
// Then cold starts of ours, ours with the original's bindings (KV only, no
// GRANTS), a Worker that only loads our WASM, the same with the original's
// KV binding, the same with
// our bindings (KV, the GRANTS Durable Object), our own bundle and bindings
// answering in JavaScript, the original and the peer, interleaved (fresh workerd ->
// first answered request; wrangler dev spawn -> first answered request), and
// the ratios against the targets (lib/report.mjs TARGETS):
//   passthrough CPU / protocol floor <= 1.10 (plain workerd);
//   ours sealed (+ the MCP server's open) CPU / peer (+ its API request)
//   <= 0.25, and flows/s at c=8 sealed / peer >= 4;
//   sealed CPU / passthrough CPU <= 1.25 (from the slices, and from the
//   interleaved flows: the targets named ...Interleaved);
//   a refresh's CPU <= a consent POST's (per request, the loops above);
//   cold start ours <= the original's;
// with ours/original, ours/floor and the floors' ratios reported beside, all
// printed and written to target/bench/bench-<time>.json and
// target/bench/latest.json (with target/bench/native.json from `cargo bench
// --bench core` and size.json from scripts/size-report.mjs when present).
// Targets are reported, not enforced; a failed flow anywhere fails the run.
//
// The load generator (lib/client.mjs: node:http, keep-alive, the requests
// Node's fetch would send) shares the machine with workerd, so it is kept
// light: about 1.3 ms of CPU per flow, a third of what fetch spends.
//
// Environment: BENCH_SECONDS (10 per measurement, split over the rounds),
// BENCH_ROUNDS (5), BENCH_WARMUP_SECONDS (5 per implementation, not
// recorded), BENCH_CONCURRENCY ("1,8"), BENCH_MODES ("wrangler,workerd"; "," for
// the cold starts alone),
// BENCH_COLD_RUNS (15), BENCH_WRANGLER_STARTS (3), BENCH_SKIP_ORIGINAL=1,
// BENCH_SKIP_PEER=1, BENCH_SKIP_SEALED=1, BENCH_INTERLEAVED_FLOWS (40 per
// Worker and round at c=1; 0: none), BENCH_VERBOSE=1, BENCH_USERS (keys
// drawn from that many users; unset: a fresh key, a new user, per flow).
// TMPDIR: where every runtime keeps its local state (Miniflare's and
// wrangler's KV blobs and Durable Object SQLite files, fresh per start):
// `TMPDIR=/dev/shm make bench` puts it on tmpfs, so that the disk's state
// (ext4 allocating inodes for each new object's files, fsync) stays out of
// the numbers. The report names the directory and its file system.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

import { benchConfigForOurs } from "./lib/config.mjs";
import { byteFloorOptions, captureOurs, protocolFloorOptions } from "./lib/capture.mjs";
import { coldStartFloors, coldStarts, originalWorkerOptions, oursWorkerOptions } from "./lib/coldstart.mjs";
import {
  KV_FLOOR_STEPS,
  NOOP6_STEPS,
  NOOP_STEPS,
  ORIGINAL_STEPS,
  OURS_STEPS,
  kvFloorFlow,
  noop6Flow,
  noopFlow,
  originalFlow,
  oursFlow,
} from "./lib/flows.mjs";
import { measure, summarize } from "./lib/load.mjs";
import { OUT_DIR, ROOT } from "./lib/paths.mjs";
import { PEER_CONFIG, PEER_STEPS, peerFlow, peerWorkerOptions } from "./lib/peer.mjs";
import { interleavedFlows } from "./lib/interleaved.mjs";
import {
  TARGETS,
  coldStartTargets,
  compare,
  fmt,
  interleavedSummary,
  interleavedTargets,
  median,
  printRun,
  printSummary,
  targetsByConcurrency,
  targetsFor,
} from "./lib/report.mjs";
import { CLK_TCK, startMiniflare, startWranglerRuntime } from "./lib/runtime.mjs";
import {
  CONSENT_POST_STEPS,
  MCP_DIR,
  REFRESH_STEPS,
  SEALED_STEPS,
  consentForms,
  consentPostFlow,
  refreshFlow,
  refreshLineages,
  sealedFlow,
  startSealed,
} from "./lib/sealed.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY || "1,8").split(",").map(Number).filter((n) => n > 0);
const MODES = (process.env.BENCH_MODES || "wrangler,workerd").split(",").map((m) => m.trim()).filter(Boolean);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS || 15);
const WRANGLER_STARTS = Math.max(1, Number(process.env.BENCH_WRANGLER_STARTS || 3));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS || 5));
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const SKIP_ORIGINAL = process.env.BENCH_SKIP_ORIGINAL === "1";
const SKIP_PEER = process.env.BENCH_SKIP_PEER === "1";
const SKIP_SEALED = process.env.BENCH_SKIP_SEALED === "1";
const VERBOSE = process.env.BENCH_VERBOSE === "1";
// Flows per Worker and round sent in turn after the slices at c=1, in as
// many turns; above c=1 twice as many, in turns of c (0: none).
const INTERLEAVED_FLOWS = Number(process.env.BENCH_INTERLEAVED_FLOWS ?? 40);
const DISCOVERY = "/.well-known/oauth-authorization-server";
const ORIGINAL_CONFIG = join(ROOT, "bench", "original", "wrangler.toml");
// The consent POST loop runs as many requests as the refresh loop did, within these bounds.
const CONSENT_POSTS = { min: 50, max: 1000 };

const log = (...a) => console.log(...a);

function preflight() {
  const missing = [];
  if (!existsSync(join(ROOT, "build", "index.js")) || !existsSync(join(ROOT, "build", "index_bg.wasm"))) {
    missing.push("build/ (run `make build`)");
  }
  if (!existsSync(join(ROOT, "node_modules", "wrangler"))) missing.push("node_modules (run `make tools`)");
  if (!SKIP_ORIGINAL && !existsSync(join(ROOT, "bench", "node_modules", "parallel-oauth-provider", "index.js"))) {
    missing.push("bench/node_modules (run `npm ci --prefix bench`)");
  }
  if (!SKIP_PEER && !existsSync(join(ROOT, "bench", "node_modules", "@cloudflare", "workers-oauth-provider", "package.json"))) {
    missing.push("bench/node_modules/@cloudflare/workers-oauth-provider (run `npm ci --prefix bench`)");
  }
  if (!SKIP_SEALED && !existsSync(join(MCP_DIR, "build", "index.js"))) {
    missing.push("examples/mcp-server/build/ (run `make -C examples/mcp-server build`)");
  }
  const unknown = MODES.filter((m) => m !== "wrangler" && m !== "workerd");
  if (unknown.length) missing.push(`known modes (not ${unknown.join(", ")})`);
  if (missing.length) {
    console.error(`bench: missing ${missing.join(", ")}`);
    process.exit(2);
  }
}

function machine() {
  const cpus = os.cpus();
  const version = (pkg) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
    } catch {
      return null;
    }
  };
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    loadAverageAtStart: os.loadavg(),
    node: process.version,
    wrangler: version("wrangler"),
    workerd: version("workerd"),
    miniflare: version("miniflare"),
    clkTck: CLK_TCK,
    stateDir: os.tmpdir(),
    stateFilesystem: filesystemOf(os.tmpdir()),
  };
}

/** The file system type of `dir` (ext2/ext3 for ext4, tmpfs, ...), or null. */
function filesystemOf(dir) {
  try {
    return execFileSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

/** Unrecorded load, unless `seconds` is 0. */
async function warmUp(runtime, flow, steps, seconds) {
  if (seconds > 0) await measure({ runtime, flow, steps, concurrency: Math.max(...CONCURRENCY), seconds });
}

async function benchMode(mode, starters) {
  log(`\n== ${mode}: ${ROUNDS} rounds per concurrency, each running every measurement for ${fmt(SECONDS / ROUNDS, 1)} s (or as many flows)`);
  const rts = {};
  const out = {};
  let interleaved = null;
  try {
    for (const [label, start] of Object.entries(starters)) {
      rts[label] = await start(rts);
      out[label] = { startMs: rts[label].startMs, runs: [] };
      log(`  ${label} started in ${fmt(rts[label].startMs, 0)} ms (start -> first answered request) on ${rts[label].base}`);
      if (rts[label].mcp) {
        out[label].resourceServerStartMs = rts[label].mcpStartMs;
        log(`  ${label}: example MCP server started in ${fmt(rts[label].mcpStartMs, 0)} ms on ${rts[label].mcp.base}`);
      }
    }
    // Reported with ours.
    delete out.protocolFloor;
    delete out.byteFloor;
    // Warm-up (not recorded), the same time for each: V8 compiles hot code
    // again, optimized, after it has run a while (a fresh isolate of ours
    // spends up to twice the CPU per flow for its first ~600 flows).
    await warmUp(rts.ours, oursFlow, OURS_STEPS, WARMUP_SECONDS);
    if (rts.sealed) await warmUp(rts.sealed, sealedFlow, SEALED_STEPS, WARMUP_SECONDS);
    if (rts.peer) await warmUp(rts.peer, peerFlow, PEER_STEPS, WARMUP_SECONDS);
    if (rts.original) await warmUp(rts.original, originalFlow, ORIGINAL_STEPS, WARMUP_SECONDS);
    for (const label of ["protocolFloor", "byteFloor"]) if (rts[label]) await warmUp(rts[label], oursFlow, OURS_STEPS, Math.min(2, WARMUP_SECONDS));
    for (const label of ["ours", "protocolFloor", "original"]) if (rts[label]) await warmUp(rts[label], noopFlow, NOOP_STEPS, Math.min(1, WARMUP_SECONDS));
    if (rts.peer) await warmUp(rts.peer, noop6Flow, NOOP6_STEPS, Math.min(1, WARMUP_SECONDS));
    // Refresh lineages, one per client at the highest concurrency, begun by sealed flows.
    const lineages = rts.sealed ? await refreshLineages(rts.sealed, Math.max(...CONCURRENCY)) : null;
    if (rts.sealed) await warmUp(rts.sealed.provider, refreshFlow(lineages), REFRESH_STEPS, Math.min(2, WARMUP_SECONDS));
    for (const c of CONCURRENCY) {
      const slices = {
        ours: [], floor: [], protocolFloor: [], byteFloor: [], sealed: [], refresh: [], consentPost: [], peer: [], peerFloor: [], original: [], originalFloor: [], kvFloor: [],
      };
      const seconds = SECONDS / ROUNDS;
      const timed = (runtime, flow, steps) => measure({ runtime, flow, steps, concurrency: c, seconds });
      const counted = (runtime, flow, steps, flows) => measure({ runtime, flow, steps, concurrency: c, flows });
      // Interleaved, so that the machine's drift falls on every measurement alike.
      for (let round = 0; round < ROUNDS; round++) {
        const ours = await timed(rts.ours, oursFlow, OURS_STEPS);
        const flows = ours.ok + ours.failed;
        slices.ours.push(ours);
        slices.floor.push(await counted(rts.ours, noopFlow, NOOP_STEPS, flows));
        if (rts.protocolFloor) slices.protocolFloor.push(await counted(rts.protocolFloor, oursFlow, OURS_STEPS, flows));
        if (rts.byteFloor) slices.byteFloor.push(await counted(rts.byteFloor, oursFlow, OURS_STEPS, flows));
        if (rts.sealed) {
          slices.sealed.push(await timed(rts.sealed, sealedFlow, SEALED_STEPS));
          const refresh = await timed(rts.sealed.provider, refreshFlow(lineages), REFRESH_STEPS);
          slices.refresh.push(refresh);
          const n = Math.min(CONSENT_POSTS.max, Math.max(CONSENT_POSTS.min, refresh.ok + refresh.failed));
          const forms = await consentForms(rts.sealed.base, rts.sealed.resource, n);
          slices.consentPost.push(await counted(rts.sealed.provider, consentPostFlow(forms), CONSENT_POST_STEPS, n));
        }
        if (rts.peer) {
          const peer = await timed(rts.peer, peerFlow, PEER_STEPS);
          slices.peer.push(peer);
          slices.peerFloor.push(await counted(rts.peer, noop6Flow, NOOP6_STEPS, peer.ok + peer.failed));
        }
        if (rts.original) {
          const original = await timed(rts.original, originalFlow, ORIGINAL_STEPS);
          slices.original.push(original);
          slices.originalFloor.push(await counted(rts.original, noopFlow, NOOP_STEPS, original.ok + original.failed));
          slices.kvFloor.push(await counted(rts.original, kvFloorFlow, KV_FLOOR_STEPS, flows));
        }
      }
      const sum = (key, label) => (slices[key].length ? summarize(slices[key], label) : undefined);
      const run = {
        concurrency: c,
        flows: sum("ours", "ours"),
        floor: sum("floor", "ours floor"),
        protocolFloor: sum("protocolFloor", "protocol floor"),
        byteFloor: sum("byteFloor", "byte floor"),
      };
      // CPU ms per flow of each measurement in each round: how much the ratios move between rounds.
      const perFlow = (slice) => (slice ? slice.cpu.workerdMs / (slice.ok + slice.failed) : null);
      const perSec = (slice) => (slice ? slice.ok / (slice.wallMs / 1000) : null);
      run.rounds = slices.ours.map((_, i) => {
        const sealed = slices.sealed[i];
        return {
          ours: perFlow(slices.ours[i]),
          floor: perFlow(slices.floor[i]),
          protocolFloor: perFlow(slices.protocolFloor[i]),
          byteFloor: perFlow(slices.byteFloor[i]),
          sealed: perFlow(sealed),
          sealedProvider: sealed ? Object.entries(sealed.cpu.byRole).filter(([r]) => !r.startsWith("resource ")).reduce((a, [, v]) => a + v, 0) / (sealed.ok + sealed.failed) : null,
          refresh: perFlow(slices.refresh[i]),
          consentPost: perFlow(slices.consentPost[i]),
          peer: perFlow(slices.peer[i]),
          peerFloor: perFlow(slices.peerFloor[i]),
          original: perFlow(slices.original[i]),
          originalFloor: perFlow(slices.originalFloor[i]),
          kvFloor: perFlow(slices.kvFloor[i]),
          sealedFlowsPerSec: perSec(sealed),
          peerFlowsPerSec: perSec(slices.peer[i]),
        };
      });
      printRun(run.flows, OURS_STEPS);
      printRun(run.floor, []);
      if (run.protocolFloor) printRun(run.protocolFloor, []);
      if (run.byteFloor) printRun(run.byteFloor, []);
      out.ours.runs.push(run);
      if (rts.sealed) {
        const sealed = { concurrency: c, flows: sum("sealed", "ours sealed"), refresh: sum("refresh", "refresh"), consentPost: sum("consentPost", "consent POST") };
        printRun(sealed.flows, SEALED_STEPS);
        printRun(sealed.refresh, []);
        printRun(sealed.consentPost, []);
        out.sealed.runs.push(sealed);
      }
      if (rts.peer) {
        const peer = { concurrency: c, flows: sum("peer", "peer"), floor: sum("peerFloor", "peer floor") };
        printRun(peer.flows, PEER_STEPS);
        printRun(peer.floor, []);
        out.peer.runs.push(peer);
      }
      if (rts.original) {
        const orig = { concurrency: c, flows: sum("original", "original"), floor: sum("originalFloor", "original floor"), kvFloor: sum("kvFloor", "JS+KV floor") };
        printRun(orig.flows, ORIGINAL_STEPS);
        printRun(orig.floor, []);
        printRun(orig.kvFloor, []);
        out.original.runs.push(orig);
      }
    }
    // In turn (bench/lib/interleaved.mjs), at each concurrency: the ratios
    // that the drift between the slices above blurs.
    if (INTERLEAVED_FLOWS > 0 && (rts.sealed || rts.protocolFloor)) {
      const workers = { ours: { flow: () => oursFlow(rts.ours.base), runtimes: { provider: rts.ours } } };
      if (rts.protocolFloor) workers.protocolFloor = { flow: () => oursFlow(rts.protocolFloor.base), runtimes: { worker: rts.protocolFloor } };
      if (rts.sealed) {
        const sealed = rts.sealed;
        workers.sealed = { flow: () => sealedFlow(sealed.base, sealed), runtimes: { provider: sealed.provider, resource: sealed.mcp } };
      }
      interleaved = {};
      for (const c of CONCURRENCY) {
        // Twice the flows above c=1, where each turn's burst is short.
        const turns = c === 1 ? INTERLEAVED_FLOWS : Math.max(5, Math.ceil((2 * INTERLEAVED_FLOWS) / c));
        log(`  interleaved c=${c}: ${ROUNDS} rounds of ${turns} turns of ${c} flow(s) per Worker (${Object.keys(workers).join(", ")}), in turn`);
        const rounds = await interleavedFlows(workers, { rounds: ROUNDS, flows: turns, concurrency: c });
        interleaved[`c=${c}`] = { concurrency: c, turns, rounds };
      }
    }
  } finally {
    // A failed flow's cause is often only in the Worker's log (wrangler dev's output).
    const failed = Object.values(out).some((impl) => impl.runs.some((run) => Object.values(run).some((s) => s?.failed)));
    for (const [label, rt] of Object.entries(rts)) {
      const text = failed ? (rt.logs?.() ?? "").trim() : "";
      if (text) log(`  ${label}: last lines of its runtime's output\n${text.split("\n").slice(-20).map((l) => `    | ${l}`).join("\n")}`);
      await rt.stop();
    }
  }
  return { results: out, interleaved };
}

async function wranglerStarts(label, config) {
  const starts = [];
  for (let i = 0; i < WRANGLER_STARTS; i++) {
    const rt = await startWranglerRuntime({ label, config, readyPath: DISCOVERY, verbose: VERBOSE });
    starts.push(rt.startMs);
    await rt.stop();
  }
  log(`  ${label.padEnd(9)} wrangler dev spawn -> first response: ${starts.map((s) => fmt(s, 0)).join(", ")} ms (median ${fmt(median(starts), 0)})`);
  return { runsMs: starts, medianMs: median(starts) };
}

/**
 * Cold starts of every implementation in `options` ({ key: [label, Miniflare
 * options] }), interleaved one start each per round so that the machine's
 * drift falls on all alike; one unrecorded start first (disk caches).
 */
async function coldStartsOf(options) {
  const samples = Object.fromEntries(Object.keys(options).map((k) => [k, []]));
  for (const [, o] of Object.values(options)) await coldStarts(o, 1);
  for (let i = 0; i < COLD_RUNS; i++) {
    for (const [key, [, o]] of Object.entries(options)) samples[key].push(...(await coldStarts(o, 1)));
  }
  const out = {};
  for (const [key, [label]] of Object.entries(options)) {
    const runs = samples[key];
    out[key] = {
      runs,
      medianFirstResponseMs: median(runs.map((s) => s.firstResponseMs)),
      medianReadyMs: median(runs.map((s) => s.readyMs)),
      medianFirstRequestMs: median(runs.map((s) => s.firstRequestMs)),
      medianSecondRequestMs: median(runs.map((s) => s.secondRequestMs)),
    };
    const m = out[key];
    log(
      `  ${label.padEnd(13)} workerd start -> first response: median ${fmt(m.medianFirstResponseMs, 0)} ms` +
        ` (workerd ready ${fmt(m.medianReadyMs, 0)} ms, first request ${fmt(m.medianFirstRequestMs, 1)} ms, second ${fmt(m.medianSecondRequestMs, 1)} ms)`,
    );
  }
  return out;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return null;
  }
}

async function main() {
  preflight();
  const startedAt = new Date();
  const info = machine();
  log(`parallel-oauth-provider bench: ${info.cpus} × ${info.cpuModel}, ${info.memoryGiB} GiB, load ${info.loadAverageAtStart.map((l) => l.toFixed(2)).join(" ")}, node ${info.node}, wrangler ${info.wrangler}, workerd ${info.workerd}, local state in ${info.stateDir} (${info.stateFilesystem})`);
  log(`${SECONDS} s per measurement, concurrency ${CONCURRENCY.join(" and ")}, modes ${MODES.join(" and ")}`);

  const oursConfig = benchConfigForOurs();
  const originalOptions = SKIP_ORIGINAL ? null : await originalWorkerOptions();
  const peerOptions = SKIP_PEER ? null : await peerWorkerOptions();
  const modes = {};
  for (const mode of MODES) {
    const start = (label, config, options) =>
      mode === "wrangler"
        ? () => startWranglerRuntime({ label, config, readyPath: DISCOVERY, verbose: VERBOSE })
        : () => startMiniflare({ label, options });
    const starters = { ours: start("ours", oursConfig, oursWorkerOptions()) };
    if (mode === "workerd") {
      let canned;
      const capture = async (started) => (canned ??= await captureOurs(started.ours.base));
      starters.protocolFloor = async (started) => startMiniflare({ label: "protocol floor", options: protocolFloorOptions(await capture(started)) });
      starters.byteFloor = async (started) => startMiniflare({ label: "byte floor", options: await byteFloorOptions(await capture(started)) });
    }
    if (!SKIP_SEALED) starters.sealed = () => startSealed({ mode, oursConfig, verbose: VERBOSE });
    if (!SKIP_PEER) starters.peer = start("peer", PEER_CONFIG, peerOptions);
    if (!SKIP_ORIGINAL) starters.original = start("original", ORIGINAL_CONFIG, originalOptions);
    const { results, interleaved } = await benchMode(mode, starters);
    const comparisons = compare(results);
    const byC = targetsByConcurrency(comparisons);
    const inter = interleavedSummary(interleaved);
    const targets = { ...targetsFor(comparisons, byC), ...interleavedTargets(inter) };
    modes[mode] = { ...results, comparisons, interleaved: inter, targets, targetsByConcurrency: byC };
  }

  log(`\n== cold start: fresh workerd (Miniflare ${info.miniflare}) -> first answered request, ${COLD_RUNS} runs each, interleaved`);
  const cold = await coldStartsOf({
    ...coldStartFloors(),
    ...(SKIP_ORIGINAL ? {} : { original: ["original", originalOptions] }),
    ...(SKIP_PEER ? {} : { peer: ["peer", peerOptions] }),
  });
  log(`== cold start: wrangler dev spawn -> first answered request, ${WRANGLER_STARTS} runs each`);
  const wranglerDev = { ours: await wranglerStarts("ours", oursConfig) };
  if (!SKIP_ORIGINAL) wranglerDev.original = await wranglerStarts("original", ORIGINAL_CONFIG);
  if (!SKIP_PEER) wranglerDev.peer = await wranglerStarts("peer", PEER_CONFIG);
  const coldStart = { workerd: cold, wranglerDev, targets: coldStartTargets(cold, wranglerDev) };

  printSummary(modes, coldStart);
  // The bench itself keeps about two runnable threads busy; much more means other work competed.
  const busy = Object.values(modes).flatMap((m) =>
    ["ours", "sealed", "peer", "original"].flatMap((impl) => (m[impl]?.runs ?? []).flatMap((r) => Object.values(r).filter((s) => s?.loadAverage1m != null))),
  );
  const maxLoad = Math.max(...busy.map((r) => r.loadAverage1m));
  if (maxLoad > info.cpus + 1) {
    log(`  note: 1-minute load average reached ${fmt(maxLoad, 1)} on ${info.cpus} CPUs: other work competed, so throughput and latency are pessimistic (CPU per flow much less so)`);
  }
  const size = readJson(join(OUT_DIR, "size.json"));
  // The performance issue's size target: gzipped WASM ≤ 160 KB (160,000 B).
  if (size) size.targets = { wasmGzipAtMost160KB: size.wasm?.gzip <= 160_000 };
  if (size) {
    const met = size.targets.wasmGzipAtMost160KB ? "met" : "MISSED";
    log(`  size: wasm ${size.wasm?.raw} B raw, ${size.wasm?.gzip} B gzip (budget ${size.budget?.gzipWasmMax} B); target wasmGzipAtMost160KB ${met}`);
  }
  const native = readJson(join(OUT_DIR, "native.json"));
  if (native) log(`  native core (cargo bench): ${native.benchmarks.map((b) => `${b.name} ${fmt(b.median_us, 1)} µs`).join("; ")}`);

  const result = {
    startedAt: startedAt.toISOString(),
    machine: info,
    settings: {
      secondsPerMeasurement: SECONDS,
      rounds: ROUNDS,
      warmupSeconds: WARMUP_SECONDS,
      concurrency: CONCURRENCY,
      modes: MODES,
      coldRuns: COLD_RUNS,
      wranglerStarts: WRANGLER_STARTS,
      consentPosts: CONSENT_POSTS,
      users: Number(process.env.BENCH_USERS || 0) || "a new one per flow",
      skipped: { original: SKIP_ORIGINAL, peer: SKIP_PEER, sealed: SKIP_SEALED },
    },
    thresholds: TARGETS,
    modes,
    coldStart,
    kv: {
      note: "store operations per flow, counted natively by benches/core.rs (MemoryStore op counts); the Workers adapter maps each to one KV call",
      ours: native?.store_ops_per_flow ?? null,
      original: { put: 1, get: 1, delete: 1, source: "index.js: kv.put at /store-key, kv.get + kv.delete at /token" },
      peer: { source: "not counted: @cloudflare/workers-oauth-provider's storage-schema.md (clients, grants, tokens in OAUTH_KV)" },
    },
    native,
    size,
  };
  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const path = join(OUT_DIR, `bench-${stamp}.json`);
  writeFileSync(path, JSON.stringify(result, null, 2) + "\n");
  writeFileSync(join(OUT_DIR, "latest.json"), JSON.stringify(result, null, 2) + "\n");
  log(`\nwrote ${path} (and target/bench/latest.json)`);
  // A benchmark whose flows fail measures nothing: fail. Targets are reported, not enforced.
  if (Object.values(modes).some((m) => !m.targets.zeroFailedFlows)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
