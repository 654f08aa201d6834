#!/usr/bin/env node
// What one Durable Object call costs by transport, stub.fetch against RPC,
// under `wrangler dev` (as `make dev`) or in plain workerd: CPU per request of
// workerd (by process) and of wrangler's Node, over a no-op request.
//
//   node bench/probes/do-transport.mjs [wrangler|workerd]
//
// Why DurableGrants uses RPC (README, Performance): under wrangler dev each
// fetch is a subrequest whose DevTools network events wrangler forwards to Node.

import { join } from "node:path";

import { ROOT } from "../lib/paths.mjs";
import { cpuDelta, startMiniflare, startWranglerRuntime } from "../lib/runtime.mjs";

const DIR = join(ROOT, "bench", "probes", "do-transport");
const mode = process.argv[2] || "wrangler";
const N = 500;

const rt =
  mode === "wrangler"
    ? await startWranglerRuntime({ label: "do-transport", config: join(DIR, "wrangler.toml"), readyPath: "/" })
    : await startMiniflare({
        label: "do-transport",
        readyPath: "/",
        options: {
          modules: true,
          scriptPath: join(DIR, "worker.mjs"),
          compatibilityDate: "2026-04-20",
          durableObjects: { OBJ: { className: "Obj", useSQLite: true } },
        },
      });

async function loop(path) {
  const before = rt.cpu();
  for (let i = 0; i < N; i++) {
    const res = await fetch(rt.base + path);
    await res.text();
    if (res.status !== 200) throw new Error(`${path} -> ${res.status}`);
  }
  const d = cpuDelta(before, rt.cpu());
  const roles = Object.entries(d.byRole).map(([role, ms]) => `${role} ${(ms / N).toFixed(3)}`);
  console.log(`${path.padEnd(7)} workerd ${(d.workerdMs / N).toFixed(3)} ms (${roles.join(", ")}), node ${(d.wranglerNodeMs / N).toFixed(3)} ms per request`);
}

try {
  for (let round = 0; round < 3; round++) for (const path of ["/", "/fetch", "/rpc"]) await loop(path);
} finally {
  await rt.stop();
}
