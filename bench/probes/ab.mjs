#!/usr/bin/env node
// Two builds of our Worker side by side in plain workerd (one Miniflare
// each, both up at once), measured in interleaved rounds, each round's B
// over its A: how a change is told from the machine's drift, which moves
// every absolute number by 15-40% within an hour. What it measures:
//
//   steps: CPU per request of the idempotent steps (metadata, registration,
//          the consent page), N requests per step and round;
//   flow:  CPU per passthrough flow (the five steps), S seconds per round,
//          at concurrency C.
//
//   cp -r build /tmp/before      # the build to compare against
//   ... change, make build ...
//   node bench/probes/ab.mjs /tmp/before build [steps|flow]
//
// Env: R rounds (default 10), N requests per step and round (1000), S
// seconds per flow round (3), C concurrency of the flows (1). With
// TMPDIR=/dev/shm the runtimes' storage is on tmpfs (README, Performance).


import { oursWorkerOptions } from "../lib/coldstart.mjs";
import { OURS_REDIRECT, OURS_STEPS, authorizeUrl, oursFlow, pkcePair, publicClient } from "../lib/flows.mjs";
import { measure } from "../lib/load.mjs";
import { cpuDelta, startMiniflare } from "../lib/runtime.mjs";

const [dirA, dirB, what = "steps"] = process.argv.slice(2);
if (!dirA || !dirB || !["steps", "flow"].includes(what)) {
  console.error("usage: node bench/probes/ab.mjs <build dir A> <build dir B> [steps|flow]");
  process.exit(2);
}
const R = Number(process.env.R || 10);
const N = Number(process.env.N || 1000);
const S = Number(process.env.S || 3);
const C = Number(process.env.C || 1);

/** The idempotent steps' requests against `base`, after one registration. */
async function stepRequests(base) {
  const meta = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
  const client = publicClient("ab client");
  const register = () =>
    fetch(meta.registration_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(client),
    });
  const { client_id: clientId } = await (await register()).json();
  const auth = authorizeUrl(meta, { clientId, redirectUri: OURS_REDIRECT, challenge: pkcePair().challenge, state: "s" });
  return {
    metadata: () => fetch(`${base}/.well-known/oauth-authorization-server`),
    register,
    "consent page": () => fetch(auth),
  };
}

/** CPU ms of `rt`'s workerd over `run()`. */
async function cpuOf(rt, run) {
  const before = rt.cpu();
  await run();
  return cpuDelta(before, rt.cpu()).workerdMs;
}

async function stepRound(rt, requests, acc) {
  for (const [step, send] of Object.entries(requests)) {
    const ms = await cpuOf(rt, async () => {
      for (let i = 0; i < N; i++) {
        const res = await send();
        await res.arrayBuffer();
        if (res.status >= 400) throw new Error(`${rt.label} ${step}: ${res.status}`);
      }
    });
    (acc[step] ??= []).push((ms / N) * 1000);
  }
}

async function flowRound(rt, acc) {
  const m = await measure({ runtime: rt, flow: oursFlow, steps: OURS_STEPS, concurrency: C, seconds: S });
  if (m.failed) throw new Error(`${rt.label}: ${m.failed} flows failed`);
  (acc.flow ??= []).push(m.cpu.workerdMs / m.ok);
}

const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];

const runtimes = [
  await startMiniflare({ label: "A", options: oursWorkerOptions({}, dirA) }),
  await startMiniflare({ label: "B", options: oursWorkerOptions({}, dirB) }),
];
const results = { A: {}, B: {} };
try {
  const requests = what === "steps" ? await Promise.all(runtimes.map((rt) => stepRequests(rt.base))) : [];
  // One unrecorded round each, so that V8 has optimized the hot code.
  for (const [i, rt] of runtimes.entries()) {
    if (what === "steps") await stepRound(rt, requests[i], {});
    else await flowRound(rt, {});
  }
  for (let round = 0; round < R; round++) {
    // A then B, then B then A: a drift within a round falls on both alike.
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const i of order) {
      const rt = runtimes[i];
      if (what === "steps") await stepRound(rt, requests[i], results[rt.label]);
      else await flowRound(rt, results[rt.label]);
    }
  }
} finally {
  for (const rt of runtimes) await rt.stop();
}

const unit = what === "steps" ? "µs per request" : "ms per flow";
console.log(`A ${dirA}, B ${dirB}: ${what}, ${R} rounds${what === "flow" ? `, c=${C}` : ""} (CPU, ${unit})`);
for (const name of Object.keys(results.A)) {
  const a = results.A[name];
  const b = results.B[name];
  const ratios = b.map((x, i) => x / a[i]);
  const fmt = (x) => (what === "steps" ? x.toFixed(0) : x.toFixed(3));
  console.log(
    `  ${name.padEnd(13)} A ${fmt(median(a))}  B ${fmt(median(b))}  B/A paired median ${median(ratios).toFixed(3)}` +
      `  [${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}]`,
  );
}
