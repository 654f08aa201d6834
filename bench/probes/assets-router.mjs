#!/usr/bin/env node
// What the static-assets router costs our Worker under `wrangler dev` (as
// `make dev`): the no-op route and the metadata document, with our
// wrangler.toml and with the same file without [assets], interleaved; CPU
// per request by workerd process. Needs `make build`.
//
//   node bench/probes/assets-router.mjs

import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

import { benchConfigForOurs } from "../lib/config.mjs";
import { OUT_DIR } from "../lib/paths.mjs";
import { cpuDelta, startWranglerRuntime } from "../lib/runtime.mjs";

const N = 800;
const withAssets = benchConfigForOurs();
const dir = join(OUT_DIR, "wrangler-ours-no-assets");
mkdirSync(dir, { recursive: true });
const withoutAssets = join(dir, "wrangler.toml");
writeFileSync(withoutAssets, readFileSync(withAssets, "utf8").replace(/\n\[assets\][\s\S]*?(?=\n\[)/, "\n"));
copyFileSync(join(dirname(withAssets), ".dev.vars"), join(dir, ".dev.vars"));

const runtimes = [
  ["with [assets]", await startWranglerRuntime({ label: "assets", config: withAssets, readyPath: "/__noop" })],
  ["without", await startWranglerRuntime({ label: "no assets", config: withoutAssets, readyPath: "/__noop" })],
];
try {
  for (let round = 0; round < 4; round++) {
    for (const [label, rt] of runtimes) {
      for (const path of ["/__noop", "/.well-known/oauth-authorization-server"]) {
        const before = rt.cpu();
        for (let i = 0; i < N; i++) {
          const res = await fetch(rt.base + path);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${label} ${path} -> ${res.status}`);
        }
        const d = cpuDelta(before, rt.cpu());
        const roles = Object.entries(d.byRole).map(([role, ms]) => `${role} ${(ms / N).toFixed(3)}`);
        console.log(`${label.padEnd(13)} ${path.padEnd(40)} ${(d.workerdMs / N).toFixed(3)} ms (${roles.join(", ")})`);
      }
    }
  }
} finally {
  for (const [, rt] of runtimes) await rt.stop();
}
