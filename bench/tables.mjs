// The README's Performance tables, from one `make bench` run:
//   node bench/tables.mjs [target/bench/latest.json]
// prints Markdown: per setup (plain workerd, `wrangler dev`) each Worker's
// flows/s, CPU per flow and latency at every concurrency, then the ratios the
// issue's targets name, then the cold starts. Every number is the run's own
// (report.mjs's comparisons); nothing is computed that the run did not measure.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { ROOT } from "./lib/paths.mjs";
import { fmt } from "./lib/report.mjs";

let out = [];
const say = (line = "") => out.push(line);
const SETUPS = { workerd: "plain workerd", wrangler: "`wrangler dev` (as `make dev`)" };

/** "a / b" of one value per concurrency. */
const perC = (cs, f, d) => cs.map((c) => fmt(f(c), d)).join(" / ");
const ratio = (a, b) => (a == null || b == null || !b ? null : a / b);
const x = (v, d = 3) => (v == null ? "–" : `${fmt(v, d)}×`);
/** A ratio with its rounds' range, when the run kept one. */
const ranged = (v, r) => (v == null ? null : r ? `${x(v)} [${fmt(r[0], 3)}–${fmt(r[1], 3)}]` : x(v));

function table(mode, m) {
  const cs = m.comparisons;
  const at = (impl, c) => m[impl]?.runs.find((r) => r.concurrency === c.concurrency) ?? null;
  const head = cs.map((c) => `c=${c.concurrency}`).join(" / ");
  say(`| ${SETUPS[mode]} | flows/s ${head} | CPU ms/flow ${head} | flow p50 / p99 c=${cs[0].concurrency} |`);
  say("|---|---|---|---|");
  const row = (label, pick, unit = "") => {
    const first = pick(cs[0]);
    if (!first) return;
    const l = first.latencyMs.flow;
    say(
      `| ${label} | ${perC(cs, (c) => pick(c)?.flowsPerSec, 1)}${unit} | ${perC(cs, (c) => pick(c)?.cpu.workerdMsPerFlow, 2)} | ` +
        `${fmt(l.p50, 1)} / ${fmt(l.p99, 1)} ms |`,
    );
  };
  row("ours, passthrough (5 requests)", (c) => at("ours", c)?.flows);
  row("ours, sealed + the MCP server's open (6)", (c) => at("sealed", c)?.flows);
  row("peer + its API request (6)", (c) => at("peer", c)?.flows);
  row("original (5)", (c) => at("original", c)?.flows);
  row("protocol floor (5)", (c) => at("ours", c)?.protocolFloor);
  row("byte floor (5)", (c) => at("ours", c)?.byteFloor);
  row("refresh, per request", (c) => at("sealed", c)?.refresh, " req/s");
  row("consent POST, per request", (c) => at("sealed", c)?.consentPost, " req/s");
  const noop = cs[0];
  say(
    `| no-op floor, ours (5) / peer (6) / original (5), c=${noop.concurrency} | – | ` +
      `${fmt(noop.floorCpuMsPerFlow, 2)} / ${fmt(noop.peerFloorCpuMsPerFlow, 2)} / ${fmt(noop.originalFloorCpuMsPerFlow, 2)} | – |`,
  );
  say();
}

function ratios(modes) {
  const entries = Object.entries(modes);
  const cs = entries[0][1].comparisons.map((c) => `c=${c.concurrency}`).join(" / ");
  say(`| ratio (CPU per flow; under 1 is less CPU), ${cs} | ${entries.map(([mode]) => SETUPS[mode]).join(" | ")} |`);
  say(`|---|${entries.map(() => "---").join("|")}|`);
  const row = (label, f) => {
    const cells = entries.map(([mode, m]) => {
      const vs = m.comparisons.map((c) => f(c, m, mode));
      return vs.every((v) => v == null) ? "–" : vs.map((v) => (typeof v === "string" ? v : x(v))).join(" / ");
    });
    say(`| ${label} | ${cells.join(" | ")} |`);
  };
  const turn = (m, c, key) => Object.values(m.interleaved ?? {}).find((i) => i.concurrency === c.concurrency)?.[key];
  row("passthrough / protocol floor, in turn (target ≤ 1.10)", (c, m) => {
    const t = turn(m, c, "cpuOursOverProtocolFloor");
    return t ? ranged(t.median, t.range) : null;
  });
  row("passthrough / protocol floor, in the slices", (c) => ranged(c.cpuOursOverProtocolFloor, c.roundRanges.cpuOursOverProtocolFloor));
  row("byte floor / protocol floor", (c) => c.cpuByteFloorOverProtocolFloor);
  row("sealed + open / peer (target ≤ 0.25)", (c) => ranged(c.cpuSealedOverPeer, c.roundRanges.cpuSealedOverPeer));
  row("protocol floor / peer (no Worker doing our storage below it)", (c) => c.cpuProtocolFloorOverPeer);
  row("sealed + open / peer, flows/s (target ≥ 4 at c=8)", (c) => (c.throughputSealedOverPeer == null ? null : `${fmt(c.throughputSealedOverPeer, 2)}×`));
  row("sealed / passthrough, in turn (target ≤ 1.25)", (c, m) => {
    const t = turn(m, c, "cpuSealedOverPassthrough");
    return t ? ranged(t.median, t.range) : null;
  });
  row("sealed / passthrough, in the slices", (c) => ranged(c.cpuSealedOverPassthrough, c.roundRanges.cpuSealedOverPassthrough));
  row("refresh / consent POST (target ≤ 1)", (c) => c.cpuRefreshOverConsentPost);
  row("ours passthrough / peer", (c) => ratio(c.oursCpuMsPerFlow, c.peerCpuMsPerFlow));
  row("ours passthrough / peer, flows/s", (c) => {
    const v = ratio(c.oursFlowsPerSec, c.peerFlowsPerSec);
    return v == null ? null : `${fmt(v, 2)}×`;
  });
  row("ours passthrough / original", (c) => c.cpuOursOverOriginal);
  row("ours passthrough / original, flows/s", (c) => (c.throughputOursOverOriginal == null ? null : `${fmt(c.throughputOursOverOriginal, 2)}×`));
  row("peer / original", (c) => c.cpuPeerOverOriginal);
  say();
}

/** The Markdown of one run (the JSON `make bench` wrote to `path`). */
export function tables(run, path) {
  out = [];
  const info = run.machine;
  say(
    `${run.startedAt} (\`${path.replace(`${ROOT}/`, "")}\`): ${info.cpus} × ${info.cpuModel}, ${info.memoryGiB} GiB, node ${info.node}, ` +
      `wrangler ${info.wrangler}, workerd ${info.workerd}; local state in ${info.stateDir} (${info.stateFilesystem}); ` +
      `${run.settings.rounds} rounds of ${fmt(run.settings.secondsPerMeasurement / run.settings.rounds, 0)} s per measurement.`,
  );
  say();
  // Plain workerd first: the targets are its.
  const modes = Object.fromEntries(Object.entries(run.modes).sort(([a], [b]) => (a === "workerd" ? -1 : b === "workerd" ? 1 : 0)));
  for (const [mode, m] of Object.entries(modes)) table(mode, m);
  ratios(modes);
  const cold = run.coldStart?.workerd ?? {};
  const ms = (k) => fmt(cold[k]?.medianFirstResponseMs, 0);
  const dev = run.coldStart?.wranglerDev ?? {};
  say(
    `Cold start, fresh workerd to first answer (medians of ${run.settings.coldRuns}): ours ${ms("ours")} ms, the original ${ms("original")}, ` +
      `the peer ${ms("peer")}; a Worker only loading our WASM ${ms("wasmFloor")}, with our bindings ${ms("wasmBindingsFloor")}. ` +
      `\`wrangler dev\` spawn to first answer: ours ${fmt(dev.ours?.medianMs, 0)} ms, the original ${fmt(dev.original?.medianMs, 0)}, ` +
      `the peer ${fmt(dev.peer?.medianMs, 0)}. WASM ${run.size?.wasm?.gzip ?? "–"} B gzipped.`,
  );
  return out.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = process.argv[2] ?? join(ROOT, "target/bench/latest.json");
  console.log(tables(JSON.parse(readFileSync(path, "utf8")), path));
}
