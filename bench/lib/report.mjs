// What run.mjs prints and writes from its measurements: each measurement
// as it ends (printRun), then per mode and concurrency the comparisons
// (ratios, also round by round), the targets, and the summary.
//
// A mode's results: { ours, sealed, peer, original }, each { startMs, runs }
// with one run per concurrency of summarize()'d measurements:
//   ours.runs[i]     { concurrency, flows, floor, protocolFloor?, byteFloor?, rounds }
//   sealed.runs[i]   { concurrency, flows, refresh, consentPost }
//   peer.runs[i]     { concurrency, flows, floor }
//   original.runs[i] { concurrency, flows, floor, kvFloor }
// rounds: the CPU ms per flow of every measurement in each round. Beside
// them, a mode's `interleaved` (interleavedSummary): flows sent to ours, the
// protocol floor and ours sealed in turn, per concurrency, and their ratios.

import { ratioOf } from "./interleaved.mjs";
import { summary } from "./load.mjs";

export const TARGETS = {
  // Plain workerd only: the protocol floor runs there.
  passthroughOverProtocolFloorCpuMax: 1.1,
  // Ours sealed, the resource server's open included, against the peer with its resource request.
  sealedOverPeerCpuMax: 0.25,
  sealedOverPeerThroughputMinAtC8: 4,
  sealedOverPassthroughCpuMax: 1.25,
  // CPU per request of a refresh against a consent POST's, on the sealed provider.
  refreshOverConsentPostCpuMax: 1,
  // Fresh workerd to first answered request, medians.
  coldStartOursOverOriginalMax: 1,
};

const log = (...a) => console.log(...a);
export const fmt = (x, d = 2) => (x == null || Number.isNaN(x) ? "-" : Number(x).toFixed(d));
export const median = (xs) => summary(xs).p50;
/** "[rounds lo–hi]" of a round-by-round range, or "". */
const span = (r, d) => (r ? ` [rounds ${fmt(r[0], d)}–${fmt(r[1], d)}]` : "");
const ratio = (a, b) => (a == null || b == null || !b ? null : a / b);
const verdict = (v) => (v === null || v === undefined ? "n/a" : v ? "met" : "MISSED");

/** One measurement, as it ends. */
export function printRun(r, steps) {
  const cpu = r.cpu;
  const roles = Object.entries(cpu.byRoleMsPerFlow).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(", ");
  log(
    `  ${r.label.padEnd(16)} c=${String(r.concurrency).padEnd(2)} ${String(r.ok).padStart(6)} ok ${String(r.failed).padStart(3)} failed` +
      `  ${fmt(r.flowsPerSec, 1).padStart(7)} flows/s  flow p50/p95/p99 ${fmt(r.latencyMs.flow.p50, 1)}/${fmt(r.latencyMs.flow.p95, 1)}/${fmt(r.latencyMs.flow.p99, 1)} ms` +
      `  CPU ${fmt(cpu.workerdMsPerFlow, 2)} ms/flow (${roles})  load ${fmt(r.loadAverage1m, 1)}`,
  );
  if (steps.length > 1) {
    for (const s of steps) {
      const l = r.latencyMs.steps[s];
      log(`      ${s.padEnd(16)} p50 ${fmt(l.p50).padStart(7)}  p95 ${fmt(l.p95).padStart(7)}  p99 ${fmt(l.p99).padStart(7)} ms`);
    }
  }
  if (r.failed) log(`      errors: ${JSON.stringify(r.errors)}`);
}

/** The CPU ms per flow of a measurement's provider processes: all but the resource server's ("resource ..."). */
export function providerMsPerFlow(s) {
  if (!s) return null;
  return Object.entries(s.cpu.byRoleMsPerFlow)
    .filter(([role]) => !role.startsWith("resource "))
    .reduce((a, [, v]) => a + v, 0);
}

/** Per concurrency: every implementation's throughput and CPU, and the ratios. */
export function compare(m) {
  return m.ours.runs.map((run) => {
    const c = run.concurrency;
    const at = (impl) => m[impl]?.runs.find((r) => r.concurrency === c) ?? null;
    const [sealed, peer, orig] = [at("sealed"), at("peer"), at("original")];
    const cpu = (s) => s?.cpu.workerdMsPerFlow ?? null;
    const fps = (s) => s?.flowsPerSec ?? null;
    const cmp = {
      concurrency: c,
      oursFlowsPerSec: fps(run.flows),
      oursFailed: run.flows.failed,
      oursCpuMsPerFlow: cpu(run.flows),
      floorCpuMsPerFlow: cpu(run.floor),
      // Our five responses replayed by a JS Worker that does the same KV operations (plain workerd only).
      protocolFloorCpuMsPerFlow: cpu(run.protocolFloor),
      // The same behind one byte crossing into a WASM each way per request (plain workerd only).
      byteFloorCpuMsPerFlow: cpu(run.byteFloor),
      // Ours sealed: the provider's processes and the example MCP server's, which opens the token.
      sealedFlowsPerSec: fps(sealed?.flows),
      sealedFailed: sealed?.flows.failed ?? null,
      sealedCpuMsPerFlow: cpu(sealed?.flows),
      sealedProviderCpuMsPerFlow: providerMsPerFlow(sealed?.flows),
      sealedResourceCpuMsPerFlow: sealed ? cpu(sealed.flows) - providerMsPerFlow(sealed.flows) : null,
      // One request each: grant_type=refresh_token, and a consent POST, on the sealed provider.
      refreshPerSec: fps(sealed?.refresh),
      refreshFailed: sealed?.refresh.failed ?? null,
      refreshCpuMsPerRequest: cpu(sealed?.refresh),
      consentPostPerSec: fps(sealed?.consentPost),
      consentPostFailed: sealed?.consentPost.failed ?? null,
      consentPostCpuMsPerRequest: cpu(sealed?.consentPost),
      peerFlowsPerSec: fps(peer?.flows),
      peerFailed: peer?.flows.failed ?? null,
      peerCpuMsPerFlow: cpu(peer?.flows),
      peerFloorCpuMsPerFlow: cpu(peer?.floor),
      originalFlowsPerSec: fps(orig?.flows),
      originalFailed: orig?.flows.failed ?? null,
      originalCpuMsPerFlow: cpu(orig?.flows),
      originalFloorCpuMsPerFlow: cpu(orig?.floor),
      // 2 no-op + 3 single-KV-operation requests to a JS Worker on the original's runtime.
      kvFloorCpuMsPerFlow: cpu(orig?.kvFloor),
    };
    Object.assign(cmp, {
      cpuOursOverProtocolFloor: ratio(cmp.oursCpuMsPerFlow, cmp.protocolFloorCpuMsPerFlow),
      // What a Worker written in WASM pays above the protocol floor before any work, and ours above that.
      cpuByteFloorOverProtocolFloor: ratio(cmp.byteFloorCpuMsPerFlow, cmp.protocolFloorCpuMsPerFlow),
      cpuOursOverByteFloor: ratio(cmp.oursCpuMsPerFlow, cmp.byteFloorCpuMsPerFlow),
      cpuSealedOverPeer: ratio(cmp.sealedCpuMsPerFlow, cmp.peerCpuMsPerFlow),
      throughputSealedOverPeer: ratio(cmp.sealedFlowsPerSec, cmp.peerFlowsPerSec),
      cpuSealedOverPassthrough: ratio(cmp.sealedCpuMsPerFlow, cmp.oursCpuMsPerFlow),
      // The provider alone (its five requests against passthrough's five).
      cpuSealedProviderOverPassthrough: ratio(cmp.sealedProviderCpuMsPerFlow, cmp.oursCpuMsPerFlow),
      cpuRefreshOverConsentPost: ratio(cmp.refreshCpuMsPerRequest, cmp.consentPostCpuMsPerRequest),
      cpuOursOverOriginal: ratio(cmp.oursCpuMsPerFlow, cmp.originalCpuMsPerFlow),
      throughputOursOverOriginal: ratio(cmp.oursFlowsPerSec, cmp.originalFlowsPerSec),
      cpuSealedOverOriginal: ratio(cmp.sealedCpuMsPerFlow, cmp.originalCpuMsPerFlow),
      cpuPeerOverOriginal: ratio(cmp.peerCpuMsPerFlow, cmp.originalCpuMsPerFlow),
      cpuOursOverFloor: ratio(cmp.oursCpuMsPerFlow, cmp.floorCpuMsPerFlow),
      cpuOursOverKvFloor: ratio(cmp.oursCpuMsPerFlow, cmp.kvFloorCpuMsPerFlow),
      // The lowest ours/original that any Worker sending our flow's messages (or doing its KV operations) could reach here.
      cpuProtocolFloorOverOriginal: ratio(cmp.protocolFloorCpuMsPerFlow, cmp.originalCpuMsPerFlow),
      cpuKvFloorOverOriginal: ratio(cmp.kvFloorCpuMsPerFlow, cmp.originalCpuMsPerFlow),
      // A lower bound of what any sealed flow could reach against the peer: the passthrough protocol
      // floor does only part of the sealed flow's storage (no refresh-token grant, no resource request).
      cpuProtocolFloorOverPeer: ratio(cmp.protocolFloorCpuMsPerFlow, cmp.peerCpuMsPerFlow),
      // Work above each runtime's own no-op floor.
      cpuAboveFloorOursMs: cmp.oursCpuMsPerFlow - cmp.floorCpuMsPerFlow,
      cpuAboveFloorPeerMs: peer ? cmp.peerCpuMsPerFlow - cmp.peerFloorCpuMsPerFlow : null,
      cpuAboveFloorOriginalMs: orig ? cmp.originalCpuMsPerFlow - cmp.originalFloorCpuMsPerFlow : null,
    });
    cmp.cpuAboveFloorOursOverOriginal = ratio(cmp.cpuAboveFloorOursMs, cmp.cpuAboveFloorOriginalMs);
    // The same ratios round by round: [lowest, highest].
    const range = (a, b) => {
      const xs = run.rounds.map((r) => ratio(r[a], r[b])).filter((x) => x != null && Number.isFinite(x));
      return xs.length ? [Math.min(...xs), Math.max(...xs)] : null;
    };
    cmp.roundRanges = {
      cpuOursOverProtocolFloor: range("ours", "protocolFloor"),
      cpuByteFloorOverProtocolFloor: range("byteFloor", "protocolFloor"),
      cpuOursOverByteFloor: range("ours", "byteFloor"),
      cpuSealedOverPeer: range("sealed", "peer"),
      throughputSealedOverPeer: range("sealedFlowsPerSec", "peerFlowsPerSec"),
      cpuSealedOverPassthrough: range("sealed", "ours"),
      cpuSealedProviderOverPassthrough: range("sealedProvider", "ours"),
      cpuRefreshOverConsentPost: range("refresh", "consentPost"),
      cpuOursOverOriginal: range("ours", "original"),
      cpuOursOverFloor: range("ours", "floor"),
      cpuOursOverKvFloor: range("ours", "kvFloor"),
      cpuProtocolFloorOverOriginal: range("protocolFloor", "original"),
      cpuKvFloorOverOriginal: range("kvFloor", "original"),
      cpuProtocolFloorOverPeer: range("protocolFloor", "peer"),
    };
    return cmp;
  });
}

/** Each target per concurrency: true/false, or null where a measurement did not run. */
export function targetsByConcurrency(comparisons) {
  const check = (x, ok) => (x == null ? null : ok(x));
  const out = {};
  for (const c of comparisons) {
    out[`c=${c.concurrency}`] = {
      passthroughCpuAtMost1_10xProtocolFloor: check(c.cpuOursOverProtocolFloor, (x) => x <= TARGETS.passthroughOverProtocolFloorCpuMax),
      sealedCpuAtMostQuarterOfPeer: check(c.cpuSealedOverPeer, (x) => x <= TARGETS.sealedOverPeerCpuMax),
      sealedThroughputC8AtLeast4xPeer:
        c.concurrency === 8 ? check(c.throughputSealedOverPeer, (x) => x >= TARGETS.sealedOverPeerThroughputMinAtC8) : null,
      sealedCpuAtMost1_25xPassthrough: check(c.cpuSealedOverPassthrough, (x) => x <= TARGETS.sealedOverPassthroughCpuMax),
      refreshCpuAtMostConsentPost: check(c.cpuRefreshOverConsentPost, (x) => x <= TARGETS.refreshOverConsentPostCpuMax),
    };
  }
  return out;
}

/** The targets over all concurrencies (null where none applied), and zero failures everywhere. */
export function targetsFor(comparisons, byC) {
  const names = Object.keys(Object.values(byC)[0] ?? {});
  const out = {};
  for (const name of names) {
    const vs = Object.values(byC).map((t) => t[name]).filter((v) => v !== null);
    out[name] = vs.length ? vs.every(Boolean) : null;
  }
  const failures = ["oursFailed", "sealedFailed", "refreshFailed", "consentPostFailed", "peerFailed", "originalFailed"];
  out.zeroFailedFlows = comparisons.every((c) => failures.every((k) => !c[k]));
  return out;
}

/** The flows sent in turn (benchMode's `interleaved`, per concurrency): their ratios, or null when none ran. */
export function interleavedSummary(x) {
  if (!x) return null;
  const out = {};
  for (const [key, { concurrency, turns, rounds }] of Object.entries(x)) {
    const has = (label) => label in rounds[0];
    const c = { concurrency, turnsPerRound: turns, rounds };
    if (has("protocolFloor")) c.cpuOursOverProtocolFloor = ratioOf(rounds, "ours", "protocolFloor");
    if (has("sealed")) {
      c.cpuSealedOverPassthrough = ratioOf(rounds, "sealed", "ours");
      c.cpuSealedProviderOverPassthrough = ratioOf(rounds, "sealed", "ours", "provider");
    }
    out[key] = c;
  }
  return out;
}

/** The targets that the flows in turn measure too (their rounds' median at every concurrency), null where they did not run. */
export function interleavedTargets(s) {
  const check = (key, max) => {
    const rs = Object.values(s ?? {}).map((c) => c[key]).filter(Boolean);
    return rs.length ? rs.every((r) => r.median <= max) : null;
  };
  return {
    passthroughCpuAtMost1_10xProtocolFloorInterleaved: check("cpuOursOverProtocolFloor", TARGETS.passthroughOverProtocolFloorCpuMax),
    sealedCpuAtMost1_25xPassthroughInterleaved: check("cpuSealedOverPassthrough", TARGETS.sealedOverPassthroughCpuMax),
  };
}

/** Cold start targets: ours against the original (and the peer's for reference). */
export function coldStartTargets(cold, wranglerDev) {
  const le = (a, b) => (a == null || b == null ? null : a <= TARGETS.coldStartOursOverOriginalMax * b);
  return {
    workerdColdStartOursAtMostOriginal: le(cold.ours?.medianFirstResponseMs, cold.original?.medianFirstResponseMs),
    // Ours with the original's bindings (KV only): like with like.
    workerdColdStartOursKvOnlyAtMostOriginal: le(cold.oursKvOnly?.medianFirstResponseMs, cold.original?.medianFirstResponseMs),
    // Whether any Worker that ships our WASM could meet the target at all.
    workerdColdStartWasmFloorAtMostOriginal: le(cold.wasmFloor?.medianFirstResponseMs, cold.original?.medianFirstResponseMs),
    // The same with the original's bindings (one KV namespace).
    workerdColdStartWasmKvFloorAtMostOriginal: le(cold.wasmKvFloor?.medianFirstResponseMs, cold.original?.medianFirstResponseMs),
    // The same with our bindings (KV and the GRANTS Durable Object namespace).
    workerdColdStartWasmBindingsFloorAtMostOriginal: le(
      cold.wasmBindingsFloor?.medianFirstResponseMs,
      cold.original?.medianFirstResponseMs,
    ),
    // Our bundle and bindings, loaded as ours (the WASM instantiated), answering in JavaScript.
    workerdColdStartInstantiatedFloorAtMostOriginal: le(
      cold.instantiatedFloor?.medianFirstResponseMs,
      cold.original?.medianFirstResponseMs,
    ),
    wranglerDevStartOursAtMostOriginal: le(wranglerDev.ours?.medianMs, wranglerDev.original?.medianMs),
  };
}

/** One summary line of an implementation: throughput, CPU, latency. */
function line(label, s, { unit = "flow", extra = "" } = {}) {
  if (!s) return;
  const l = s.latencyMs.flow;
  log(
    `    ${label.padEnd(22)} ${fmt(s.flowsPerSec, 1).padStart(7)} ${unit}s/s  CPU ${fmt(s.cpu.workerdMsPerFlow, 3).padStart(7)} ms/${unit}` +
      `  p50/p95/p99 ${fmt(l.p50, 1)}/${fmt(l.p95, 1)}/${fmt(l.p99, 1)} ms  ${s.ok} ok, ${s.failed} failed${extra}`,
  );
}

/** The whole summary: per mode and concurrency every implementation, the ratios and the targets; cold starts. */
export function printSummary(modes, { workerd: cold, wranglerDev, targets }) {
  log("\n== summary (CPU = workerd processes' user+system time, ms per flow; per request for refresh and consent POST)");
  for (const [mode, m] of Object.entries(modes)) {
    for (const c of m.comparisons) {
      const at = (impl) => m[impl]?.runs.find((r) => r.concurrency === c.concurrency) ?? null;
      const [ours, sealed, peer, orig] = [at("ours"), at("sealed"), at("peer"), at("original")];
      log(`  ${mode} c=${c.concurrency}`);
      line("ours passthrough", ours.flows, { extra: " (5 requests)" });
      line("floor (5 no-op)", ours.floor);
      line("protocol floor", ours.protocolFloor);
      line("byte floor", ours.byteFloor);
      line("ours sealed + open", sealed?.flows, {
        extra: ` (6 requests; provider ${fmt(c.sealedProviderCpuMsPerFlow, 3)} + resource server ${fmt(c.sealedResourceCpuMsPerFlow, 3)} ms)`,
      });
      line("refresh (sealed)", sealed?.refresh, { unit: "request" });
      line("consent POST (sealed)", sealed?.consentPost, { unit: "request" });
      line("peer + API request", peer?.flows, { extra: " (6 requests)" });
      line("peer floor (6 no-op)", peer?.floor);
      line("original", orig?.flows, { extra: " (5 requests)" });
      line("original floor", orig?.floor);
      line("JS+KV floor", orig?.kvFloor);
      const r = c.roundRanges;
      const parts = [
        `passthrough/protocol floor CPU ${fmt(c.cpuOursOverProtocolFloor, 3)}×${span(r.cpuOursOverProtocolFloor, 3)} (≤ ${TARGETS.passthroughOverProtocolFloorCpuMax}` +
          (c.byteFloorCpuMsPerFlow ? `; byte floor/protocol floor ${fmt(c.cpuByteFloorOverProtocolFloor, 3)}×${span(r.cpuByteFloorOverProtocolFloor, 3)})` : ")"),
        `sealed/peer CPU ${fmt(c.cpuSealedOverPeer, 3)}×${span(r.cpuSealedOverPeer, 3)} (≤ ${TARGETS.sealedOverPeerCpuMax}` +
          (c.protocolFloorCpuMsPerFlow ? `; no Worker below protocol floor/peer ${fmt(c.cpuProtocolFloorOverPeer, 3)}×${span(r.cpuProtocolFloorOverPeer, 3)})` : ")"),
        `sealed/peer flows/s ${fmt(c.throughputSealedOverPeer, 2)}×${span(r.throughputSealedOverPeer, 2)}` +
          (c.concurrency === 8 ? ` (≥ ${TARGETS.sealedOverPeerThroughputMinAtC8})` : ""),
        `sealed/passthrough CPU ${fmt(c.cpuSealedOverPassthrough, 3)}×${span(r.cpuSealedOverPassthrough, 3)} (≤ ${TARGETS.sealedOverPassthroughCpuMax};` +
          ` provider alone ${fmt(c.cpuSealedProviderOverPassthrough, 3)}×${span(r.cpuSealedProviderOverPassthrough, 3)})`,
        `refresh/consent POST CPU ${fmt(c.cpuRefreshOverConsentPost, 3)}×${span(r.cpuRefreshOverConsentPost, 3)} (≤ ${TARGETS.refreshOverConsentPostCpuMax})`,
        `ours/original CPU ${fmt(c.cpuOursOverOriginal, 3)}×${span(r.cpuOursOverOriginal, 3)}, flows/s ${fmt(c.throughputOursOverOriginal, 2)}×`,
        `sealed/original CPU ${fmt(c.cpuSealedOverOriginal, 3)}×, peer/original CPU ${fmt(c.cpuPeerOverOriginal, 3)}×`,
        `ours/floor CPU ${fmt(c.cpuOursOverFloor, 2)}×${span(r.cpuOursOverFloor, 2)}, ours/JS+KV floor ${fmt(c.cpuOursOverKvFloor, 2)}×` +
          (c.protocolFloorCpuMsPerFlow ? `, protocol floor/original ${fmt(c.cpuProtocolFloorOverOriginal, 3)}×` : ""),
      ];
      log(`    ratios: ${parts.join("; ")}`);
      const t = m.targetsByConcurrency[`c=${c.concurrency}`];
      log(`    targets: ${Object.entries(t).map(([k, v]) => `${k} ${verdict(v)}`).join(", ")}`);
    }
    for (const il of Object.values(m.interleaved ?? {})) {
      const cell = (r) => (r ? `${fmt(r.median, 3)}×${span(r.range, 3)}` : "-");
      log(
        `  ${mode} in turn c=${il.concurrency} (${il.rounds.length} rounds of ${il.turnsPerRound} turns of ${il.concurrency} flow(s) per Worker): ` +
          `passthrough/protocol floor CPU ${cell(il.cpuOursOverProtocolFloor)} (≤ ${TARGETS.passthroughOverProtocolFloorCpuMax}); ` +
          `sealed/passthrough CPU ${cell(il.cpuSealedOverPassthrough)} (≤ ${TARGETS.sealedOverPassthroughCpuMax}; provider alone ${cell(il.cpuSealedProviderOverPassthrough)})`,
      );
    }
    log(`  ${mode} targets (every concurrency): ${Object.entries(m.targets).map(([k, v]) => `${k} ${verdict(v)}`).join(", ")}`);
  }
  const ms = (x) => (x ? `${fmt(x.medianFirstResponseMs ?? x.medianMs, 0)} ms` : "-");
  log(
    `  cold start (fresh workerd -> first response, medians): ours ${ms(cold.ours)} (KV only, the original's bindings: ${ms(cold.oursKvOnly)}), original ${ms(cold.original)}, peer ${ms(cold.peer)}` +
      ` (floor of any Worker loading our WASM: ${ms(cold.wasmFloor)}, with the original's KV binding: ${ms(cold.wasmKvFloor)}, with our bindings too: ${ms(cold.wasmBindingsFloor)}, our bundle answering in JavaScript: ${ms(cold.instantiatedFloor)});` +
      ` wrangler dev spawn -> first response: ours ${ms(wranglerDev.ours)}, original ${ms(wranglerDev.original)}, peer ${ms(wranglerDev.peer)}`,
  );
  log(`  cold start targets: ${Object.entries(targets).map(([k, v]) => `${k} ${verdict(v)}`).join(", ")}`);
}
