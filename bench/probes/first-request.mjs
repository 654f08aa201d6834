#!/usr/bin/env node
// What V8 compiles for an isolate's first request to our Worker: each build
// dir given (default build/) runs in a fresh workerd of its own, started
// directly (not through Miniflare, which does not pass V8 flags on) with
// `--trace-wasm-compilation-times`, and the WASM functions compiled while
// the first request (the authorization server's metadata document, as in
// the cold-start measurement) is answered are counted: functions, bytes of
// their bodies, and the compile time V8 reports. Bytes and functions are the
// same from run to run; the time moves with the machine. The Worker has our
// vars and dev secrets; `KV` is an empty object and there is no `GRANTS`,
// so only a route that reads no storage can be the first request (the
// metadata documents, the consent page's errors).
//
// With `--names`, and a build whose WASM keeps its name section (bash
// bench/probes/named-build.sh makes one in target/named/build: the same code,
// names kept), it also says which functions those are: by crate, and the
// largest.
//
//   node bench/probes/first-request.mjs [<build dir> ...] [--path /x] [--names]
//
// Env: R fresh workerds per build (default 3); TOP how many of the largest
// functions --names lists (default 15).

import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { oursWorkerOptions } from "../lib/coldstart.mjs";
import { OUT_DIR, ROOT } from "../lib/paths.mjs";

const args = process.argv.slice(2);
const pathAt = args.indexOf("--path");
const PATH = pathAt >= 0 ? args.splice(pathAt, 2)[1] : "/.well-known/oauth-authorization-server";
const namesAt = args.indexOf("--names");
const NAMES = namesAt >= 0 && args.splice(namesAt, 1).length > 0;
const dirs = args.length ? args : [join(ROOT, "build")];
const R = Number(process.env.R || 3);
// The workerd binary Miniflare runs (the `workerd` package's default export is its path).
const workerd = await import("workerd");
const WORKERD = typeof workerd.default === "string" ? workerd.default : workerd.default.default;

/**
 * `s` as a Cap'n Proto text-format string literal: `\` and `"` escaped, other
 * control characters as `\xNN`, everything else (non-ASCII too) as its UTF-8
 * bytes, which capnp reads as they are (JSON's `\uXXXX` is not capnp's).
 */
function capnpString(s) {
  const escaped = s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) =>
    c === "\\" || c === '"' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `"${escaped}"`;
}

/** A workerd config (capnp text) for the build copied next to it, on a port the kernel picks. */
function config() {
  const options = oursWorkerOptions();
  const text = (v) => capnpString(String(v));
  const bindings = Object.entries(options.bindings)
    .map(([name, value]) => `(name = ${text(name)}, text = ${text(value)})`)
    .join(",\n    ");
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .ours)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
  v8Flags = ["--trace-wasm-compilation-times"],
);
const ours :Workerd.Worker = (
  modules = [
    (name = "worker/shim.mjs", esModule = embed "worker/shim.mjs"),
    (name = "index.js", esModule = embed "index.js"),
    (name = "index_bg.wasm", wasm = embed "index_bg.wasm"),
  ],
  compatibilityDate = ${text(options.compatibilityDate)},
  compatibilityFlags = [${options.compatibilityFlags.map(text).join(", ")}],
  bindings = [
    ${bindings},
    (name = "KV", json = "{}"),
  ],
);
`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One fresh workerd on `build`: the compile lines before and during the first request. */
async function once(build) {
  const dir = join(OUT_DIR, "first-request");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "worker"), { recursive: true });
  for (const f of ["index.js", "index_bg.wasm", join("worker", "shim.mjs")]) copyFileSync(join(build, f), join(dir, f));
  writeFileSync(join(dir, "config.capnp"), config());
  // --control-fd: workerd says on fd 3 which port it listens on, once it does.
  const child = spawn(WORKERD, ["serve", "config.capnp", "--control-fd=3", "--verbose"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  try {
    const port = await new Promise((done, fail) => {
      let control = "";
      child.stdio[3].on("data", (d) => {
        control += d;
        for (const line of control.split("\n")) {
          try {
            const m = JSON.parse(line);
            if (m.event === "listen" && m.socket === "http") done(m.port);
          } catch {}
        }
      });
      child.on("exit", (code) => fail(new Error(`workerd exited (${code}):\n${out}`)));
    });
    await sleep(300);
    const before = out.length;
    const res = await fetch(`http://127.0.0.1:${port}${PATH}`);
    if (res.status !== 200) {
      const log = out.split("\n").filter((line) => !line.includes("Compiled function"));
      throw new Error(`GET ${PATH} -> ${res.status}: ${await res.text()}\n${log.join("\n").slice(-3000)}`);
    }
    await res.arrayBuffer();
    await sleep(300);
    return { start: compiled(out.slice(0, before)), first: compiled(out.slice(before)), trace: out.slice(before) };
  } finally {
    child.kill("SIGKILL");
  }
}

/** Liftoff compiles in `text` (V8's trace lines): [{ index, us, bytes }]. */
const compiles = (text) =>
  [...text.matchAll(/#(\d+) using Liftoff, took (\d+) μs .*?bodysize (\d+)/g)].map((m) => ({
    index: Number(m[1]),
    us: Number(m[2]),
    bytes: Number(m[3]),
  }));

/** The compiles in `text` summed: functions, body bytes, µs. */
function compiled(text) {
  const sum = { functions: 0, bytes: 0, us: 0 };
  for (const c of compiles(text)) {
    sum.functions += 1;
    sum.us += c.us;
    sum.bytes += c.bytes;
  }
  return sum;
}

/** A WASM's function names (its `name` section's function subsection): index -> name. */
function functionNames(wasm) {
  const names = new Map();
  let at = 8;
  const leb = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = wasm[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  const utf8 = (length) => wasm.toString("utf8", at, (at += length));
  while (at < wasm.length) {
    const id = wasm[at++];
    const end = leb() + at;
    if (id === 0 && utf8(leb()) === "name") {
      while (at < end) {
        const sub = wasm[at++];
        const subEnd = leb() + at;
        if (sub === 1) for (let n = leb(); n > 0; n--) names.set(leb(), utf8(leb()));
        at = subEnd;
      }
    }
    at = end;
  }
  return names;
}

/** A Rust symbol's crate (`core`, `alloc`, ours...): its first path segment, generics and impls looked through. */
const crateOf = (name) => name.replace(/^(<|&|\[|mut |dyn )+/, "").match(/^[A-Za-z_][A-Za-z0-9_]*/)?.[0] ?? name;

/** The functions of one first request's `trace`, named: by crate, then the largest. */
function printNames(build, trace) {
  const names = functionNames(readFileSync(join(build, "index_bg.wasm")));
  const traced = compiles(trace);
  // A stripped build names only a few of wasm-bindgen's shims.
  if (traced.filter((c) => names.has(c.index)).length < traced.length / 2) {
    throw new Error(`${build}/index_bg.wasm names too few of its functions: make a build with bash bench/probes/named-build.sh`);
  }
  const rows = traced.map((c) => ({ ...c, name: (names.get(c.index) ?? `#${c.index}`).replace(/::h[0-9a-f]{16}$/, "") }));
  const crates = new Map();
  for (const r of rows) {
    const k = crateOf(r.name);
    const c = crates.get(k) ?? { functions: 0, bytes: 0, us: 0 };
    c.functions += 1;
    c.bytes += r.bytes;
    c.us += r.us;
    crates.set(k, c);
  }
  console.log("    by crate (functions, bytes of bodies, µs as traced):");
  for (const [k, c] of [...crates].sort((a, b) => b[1].bytes - a[1].bytes)) {
    console.log(`      ${String(c.functions).padStart(4)} ${String(c.bytes).padStart(6)} B ${String(c.us).padStart(5)} µs  ${k}`);
  }
  // What V8's compile time goes with: a least-squares line, µs = a + b · bytes.
  const n = rows.length;
  const mx = rows.reduce((t, r) => t + r.bytes, 0) / n;
  const my = rows.reduce((t, r) => t + r.us, 0) / n;
  const b = rows.reduce((t, r) => t + (r.bytes - mx) * (r.us - my), 0) / rows.reduce((t, r) => t + (r.bytes - mx) ** 2, 0);
  console.log(`    compile time fit: ${(my - b * mx).toFixed(1)} µs per function + ${b.toFixed(3)} µs per byte of body`);
  console.log("    the 15 largest:");
  for (const r of [...rows].sort((a, b) => b.bytes - a.bytes).slice(0, Number(process.env.TOP || 15))) {
    console.log(`      ${String(r.bytes).padStart(6)} B ${String(r.us).padStart(5)} µs  ${r.name.replace(/\[[0-9a-f]+\]/g, "")}`);
  }
}

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

console.log(`first request ${PATH}: WASM functions V8 compiles (Liftoff), ${R} fresh workerds per build, interleaved`);
const runs = dirs.map(() => []);
for (let i = 0; i < R; i++) for (const [k, d] of dirs.entries()) runs[k].push(await once(resolve(d)));
for (const [k, d] of dirs.entries()) {
  const line = (phase) =>
    `${median(runs[k].map((r) => r[phase].functions))} functions, ${median(runs[k].map((r) => r[phase].bytes))} B of ` +
    `bodies, ${(median(runs[k].map((r) => r[phase].us)) / 1000).toFixed(2)} ms as traced`;
  console.log(`  ${d}\n    start:          ${line("start")}\n    first request:  ${line("first")}`);
  if (runs[k].some((r) => r.first.functions === 0)) throw new Error("no compile traced: did the V8 flag take?");
  if (NAMES) printNames(resolve(d), runs[k][0].trace);
}
