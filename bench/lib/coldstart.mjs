// Cold start of the runtime itself: a fresh workerd (through Miniflare, the
// library wrangler dev uses) from `new Miniflare()` to the first answered
// request, for the already built Worker. Unlike the `wrangler dev` start
// time, it leaves out Node/wrangler start-up and bundling, which are the
// same for both Workers, and keeps process start, configuration, script and
// WebAssembly compilation, instantiation and the first request.

import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";

import { OUT_DIR, ROOT } from "./paths.mjs";
import { benchDevVars, readDevVars, readWranglerToml } from "./config.mjs";

const FIRST = "/.well-known/oauth-authorization-server";

/**
 * Miniflare options for our built Worker (build/worker/shim.mjs: build/index.js
 * + index_bg.wasm and the Grants class), with `vars` over its own; its modules
 * from `dir` instead of build/ (a copy of build/, for the probes' A/Bs).
 */
export function oursWorkerOptions(vars = {}, dir = join(ROOT, "build")) {
  const toml = readWranglerToml(join(ROOT, "wrangler.toml"));
  const devVars = benchDevVars();
  return {
    // The modules listed, as wrangler hands its bundle to workerd: found by
    // Miniflare's module walker from the entry instead (scriptPath and
    // modulesRules), ours started ~20 ms later, Node-side work no runtime
    // does (medians of 10 interleaved cold starts, 175 against 151 ms; the
    // original's one-file bundle showed no such difference, 121 and 132).
    modules: [
      { type: "ESModule", path: join(resolve(dir), "worker", "shim.mjs") },
      { type: "ESModule", path: join(resolve(dir), "index.js") },
      { type: "CompiledWasm", path: join(resolve(dir), "index_bg.wasm") },
    ],
    compatibilityDate: toml.compatibilityDate,
    compatibilityFlags: toml.compatibilityFlags,
    kvNamespaces: ["KV"],
    // As wrangler.toml binds it (in memory here).
    durableObjects: { GRANTS: { className: "Grants", useSQLite: true } },
    bindings: { ...toml.vars, ...readDevVars(devVars), ...vars },
  };
}

/**
 * Ours with the original's bindings: the same modules and vars, KV only,
 * without the GRANTS Durable Object namespace (a passthrough-only
 * deployment, which the provider supports: it then records no grants and
 * refuses sealed tokens). Ours against it is what declaring the Durable
 * Object namespace costs a fresh workerd; it against the original compares
 * the two with the same bindings.
 */
export function oursKvOnlyWorkerOptions() {
  const { durableObjects: _grants, ...kvOnly } = oursWorkerOptions();
  return kvOnly;
}

/**
 * The cold-start floor of any Worker that ships our WASM: a JavaScript
 * Worker that only imports build/index_bg.wasm (so workerd compiles the
 * module at load, as it does ours) and answers every request with 200,
 * never instantiating it. Ours minus it is instantiation, the provider's
 * set-up and its first request; it against the original is what the WASM's
 * size alone costs.
 */
export function wasmFloorWorkerOptions() {
  const toml = readWranglerToml(join(ROOT, "wrangler.toml"));
  return {
    modules: [
      {
        type: "ESModule",
        path: join(ROOT, "build", "wasm-floor.mjs"),
        contents: `import wasm from "./index_bg.wasm";
export default { fetch() { return new Response(wasm instanceof WebAssembly.Module ? "ok" : "no module"); } };`,
      },
      { type: "CompiledWasm", path: join(ROOT, "build", "index_bg.wasm") },
    ],
    compatibilityDate: toml.compatibilityDate,
    compatibilityFlags: toml.compatibilityFlags,
  };
}

/**
 * The cold-start floor of any Worker that ships our WASM and has the
 * original's bindings (one KV namespace): the WASM-only floor with a KV
 * namespace. Against the original it is what our WASM's size alone costs
 * a Worker bound as the original is.
 */
export function wasmKvFloorWorkerOptions() {
  return { ...wasmFloorWorkerOptions(), kvNamespaces: ["KV"] };
}

/**
 * The cold-start floor of any Worker that ships our WASM and has our
 * bindings: the WASM-only floor above, with the KV namespace and the
 * `GRANTS` Durable Object namespace (SQLite) that ours declares, its class
 * a JavaScript one that does nothing. Ours minus it is what our code costs
 * (instantiation, the provider's set-up, its first request); it against the
 * WASM-only floor is what the bindings cost the runtime to set up, which the
 * original (KV only) does not pay for the Durable Object.
 */
export function wasmBindingsFloorWorkerOptions() {
  const floor = wasmFloorWorkerOptions();
  const ours = oursWorkerOptions();
  const [entry, wasm] = floor.modules;
  return {
    ...floor,
    modules: [
      {
        ...entry,
        path: join(ROOT, "build", "wasm-bindings-floor.mjs"),
        contents: `${entry.contents}
import { DurableObject } from "cloudflare:workers";
export class Grants extends DurableObject { run(command) { return command; } }`,
      },
      wasm,
    ],
    kvNamespaces: ours.kvNamespaces,
    durableObjects: ours.durableObjects,
    bindings: ours.bindings,
  };
}

/**
 * The cold-start floor of our own bundle: our Worker's three modules and
 * bindings, loaded as ours is (index.js instantiates the WASM at load, runs
 * its start function and worker-build's set-up, and the Grants class is
 * ours), behind an entry whose `fetch` answers in JavaScript without calling
 * into the WASM. Ours minus it is our first request's own cost: V8 compiling
 * (lazily, on first call) and running the WASM functions that request
 * reaches, and the provider's set-up from the environment.
 */
export function instantiatedFloorWorkerOptions() {
  const ours = oursWorkerOptions();
  const [shim, ...rest] = ours.modules;
  return {
    ...ours,
    modules: [
      {
        type: "ESModule",
        path: join(ROOT, "build", "worker", "instantiated-floor.mjs"),
        contents: `export { Grants } from "./shim.mjs";
export default { fetch() { return new Response("ok"); } };`,
      },
      shim,
      ...rest,
    ],
  };
}

/**
 * Ours and the floors its cold start is read against, as `make bench` and
 * bench/probes/cold-start-parts.mjs start them: { key: [label, Miniflare
 * options] }, in the order they are reported.
 */
export function coldStartFloors() {
  return {
    ours: ["ours", oursWorkerOptions()],
    oursKvOnly: ["ours, KV only", oursKvOnlyWorkerOptions()],
    wasmFloor: ["WASM only", wasmFloorWorkerOptions()],
    wasmKvFloor: ["WASM+KV", wasmKvFloorWorkerOptions()],
    wasmBindingsFloor: ["WASM+bindings", wasmBindingsFloorWorkerOptions()],
    instantiatedFloor: ["JS answer", instantiatedFloorWorkerOptions()],
  };
}

/**
 * Bundles a Worker's entry with esbuild as wrangler would (its npm
 * dependencies from bench/node_modules; the runtime's own `cloudflare:`
 * modules left to workerd) into target/bench/<name>-bundle/worker.mjs.
 */
export async function bundleWorker(entry, name) {
  const { build } = await import("esbuild");
  const outdir = join(OUT_DIR, `${name}-bundle`);
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, "worker.mjs");
  await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["module", "main"],
    external: ["cloudflare:*"],
    outfile,
    logLevel: "error",
  });
  return outfile;
}

/** Bundles bench/original/worker.mjs (as wrangler would); Miniflare options for it. */
export async function originalWorkerOptions() {
  const scriptPath = await bundleWorker(join(ROOT, "bench", "original", "worker.mjs"), "original");
  const toml = readWranglerToml(join(ROOT, "bench", "original", "wrangler.toml"));
  return {
    modules: true,
    scriptPath,
    compatibilityDate: toml.compatibilityDate,
    compatibilityFlags: toml.compatibilityFlags,
    kvNamespaces: ["KV"],
    bindings: toml.vars,
  };
}

/** `runs` cold starts: { readyMs, firstResponseMs, firstRequestMs, secondRequestMs } each. */
export async function coldStarts(workerOptions, runs) {
  const { Miniflare } = await import("miniflare");
  const out = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const mf = new Miniflare({ ...workerOptions, host: "127.0.0.1", port: 0, kvPersist: false, log: undefined });
    try {
      await mf.ready;
      const ready = performance.now();
      const res = await mf.dispatchFetch(`http://127.0.0.1${FIRST}`);
      await res.arrayBuffer();
      const first = performance.now();
      if (res.status !== 200) throw new Error(`cold start: GET ${FIRST} -> ${res.status}`);
      const again = await mf.dispatchFetch(`http://127.0.0.1${FIRST}`);
      await again.arrayBuffer();
      const second = performance.now();
      out.push({
        readyMs: ready - t0,
        firstResponseMs: first - t0,
        firstRequestMs: first - ready,
        secondRequestMs: second - first,
      });
    } finally {
      await mf.dispose();
    }
  }
  return out;
}
