// Starts workers in workerd via `wrangler dev` for the e2e tests.
//
//   const worker = await startWorker();   // the provider: { base, port, stop(), logs() }
//   const checked = await startWorker({ vars: { KEY_CHECK_URL: url } });   // with --var
//   const mcp = await startMcpExample({ authorizationServer: worker.base });
//   const w = await startSecWorker({ vars: { SECRET: "short" } });
//   ...
//   await worker.stop();
//
// All three are startWrangler() with different options (so is the
// benchmark's wrangler mode, bench/lib/runtime.mjs). Each start:
// - builds first (`make -s build-worker`, a millisecond no-op when build/ is up
//   to date, as after `make build`) unless E2E_SKIP_BUILD is set;
// - runs wrangler with a copy of the project's wrangler.toml minus [build]
//   (next to it, so relative paths and .dev.vars keep resolving): no rebuild
//   or reload while the tests run (or with a `config` the caller made so);
// - listens on a free port on 127.0.0.1, with fresh local state (KV) in a
//   temp dir unless `persist` names a directory to reuse;
// - is ready when `readyPath` answers as `ready()` wants (200 by default);
// - runs wrangler and workerd in their own process group, killed on stop()
//   and, as a last resort, when this Node process exits (even after a failure).
//
// E2E_BASE=http://127.0.0.1:8787 reuses an already running provider instead
// (e.g. `make dev` in another terminal), E2E_MCP_BASE=http://127.0.0.1:8788 a
// running example MCP server (its AUTHORIZATION_SERVER must then be the
// provider the test uses); E2E_VERBOSE=1 echoes wrangler's output;
// E2E_START_TIMEOUT_MS bounds the wait for readiness (default 180 s).

import { spawn, spawnSync } from "node:child_process";
import { hkdfSync } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DISCOVERY = "/.well-known/oauth-authorization-server";
export const EXAMPLE_DIR = join(ROOT, "examples", "mcp-server");
export const PRM_PATH = "/.well-known/oauth-protected-resource/mcp";
/**
 * Miniflare's module options for our built Worker: its entry (the Makefile's
 * copy of src/workers/shim.mjs, with the Grants class), worker-build's ESM
 * bundle and the WASM.
 */
export const BUILT_WORKER = {
  modules: true,
  scriptPath: join(ROOT, "build", "worker", "shim.mjs"),
  modulesRules: [
    { type: "ESModule", include: ["**/*.js"] },
    { type: "CompiledWasm", include: ["**/*.wasm"] },
  ],
};

const START_TIMEOUT_MS = Number(process.env.E2E_START_TIMEOUT_MS || 180_000);
const running = new Set(); // process group ids
const tempFiles = new Set(); // files and directories removed at exit

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

function removeTemp(path) {
  rmSync(path, { recursive: true, force: true });
  tempFiles.delete(path);
}

process.on("exit", () => {
  for (const pid of running) killGroup(pid, "SIGKILL");
  for (const f of tempFiles) rmSync(f, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    for (const pid of running) killGroup(pid, "SIGKILL");
    process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
  });
}

/** A TCP port that is free on 127.0.0.1 right now. */
export async function freePort() {
  // Not the kernel's pick (listen on port 0): the kernel hands the same
  // ephemeral range to every process binding port 0, so the port could be
  // taken again, by another test's workerd, before wrangler binds it. A
  // random port below that range (32768-60999 on Linux) that binds now, never
  // handed out twice by this process.
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    const free = await new Promise((done) => {
      const srv = net.createServer();
      srv.unref();
      srv.once("error", () => done(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => done(true)));
    });
    if (free) return port;
  }
}
const handedOut = new Set();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `make <args>` from the repository root unless E2E_SKIP_BUILD is set;
 *  `hint` is added to the error when it fails. */
function make(args, hint = "") {
  if (process.env.E2E_SKIP_BUILD) return;
  const r = spawnSync("make", args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`make ${args.join(" ")} failed (${r.status ?? r.error})${hint}`);
}

/** `dir`/wrangler.toml without its [build] table, next to it (the name
 *  matches .gitignore's .wrangler-e2e-*.toml). Removed on stop/exit. */
function testConfig(dir, tag) {
  const toml = readFileSync(join(dir, "wrangler.toml"), "utf8");
  const stripped = toml.replace(/^\[build\][^\n]*\n[\s\S]*?(?=^\[)/m, "");
  if (/^\[build\]/m.test(stripped)) throw new Error(`could not strip [build] from ${join(dir, "wrangler.toml")}`);
  const file = join(dir, `.wrangler-e2e-${process.pid}-${tag}.toml`);
  writeFileSync(file, `# generated by tests/e2e/worker.mjs; safe to delete\n${stripped}`);
  tempFiles.add(file);
  return file;
}

/** `vars` as an env file in a fresh temp directory (removed on stop/exit). A
 *  var set to `undefined` is left out. */
function writeEnvFile(vars) {
  const dir = mkdtempSync(join(tmpdir(), "pop-e2e-env-"));
  tempFiles.add(dir);
  const lines = Object.entries(vars)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      if (/[\r\n"\\]/.test(v)) throw new Error(`unsupported character in ${k}`);
      return `${k}="${v}"`;
    });
  const file = join(dir, "secrets.env");
  // A comment line keeps the file non-empty even with no vars at all.
  writeFileSync(file, `# generated by tests/e2e/worker.mjs\n${lines.join("\n")}\n`, { mode: 0o600 });
  return { dir, file };
}

/** A { base, port } that was started elsewhere; stop() leaves it running. */
function reuse(base) {
  base = base.replace(/\/+$/, "");
  return { base, port: Number(new URL(base).port), stop: async () => {}, logs: () => "" };
}

/**
 * Runs `wrangler dev` for the wrangler project in `dir` and waits until it
 * is ready. Resolves to { base, port, pid (of wrangler, which leads its
 * process group), startMs (spawn to ready), stop(), logs() }.
 *
 * - `build()`: brings `dir`/build up to date (skipped with E2E_SKIP_BUILD);
 *   `buildHint` is what to run when build/worker/shim.mjs is still missing;
 * - `config`: a wrangler config file to run as it is (the caller's, left in
 *   place on stop), instead of a copy of `dir`/wrangler.toml without [build];
 *   the build/worker/shim.mjs check is then left out;
 * - `name` (in error messages) and `tag` (in the temp config's file name);
 * - `vars`: { NAME: value } passed with `--var NAME:value`;
 * - `envFile`: { NAME: value } written to an env file passed with
 *   `--env-file` (wrangler then skips .dev.vars); `unsetEnv` names variables
 *   of this process that wrangler must not see;
 * - `persist`: a directory for local state the caller owns (default: a fresh
 *   temp dir, removed on stop);
 * - `readyPath` and `ready(res, body)`: the readiness probe, every `pollMs`;
 * - `verbose`: echo wrangler's output (default: E2E_VERBOSE); `logLevel`:
 *   wrangler's --log-level (default: debug when verbose, else info).
 */
/** startWrangler, retried (with fresh ports) when wrangler exits before it
 *  is ready: "The Workers runtime failed to start" happens now and then on
 *  a busy 2-core machine when another test file's wrangler takes a port
 *  between freePort() and workerd's bind. Any other failure is thrown. */
export async function startWrangler(options = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startWranglerOnce(options);
    } catch (e) {
      if (attempt >= 3 || !/exited early/.test(e?.message ?? "")) throw e;
      process.stderr.write(`[e2e] wrangler exited before it was ready (attempt ${attempt}); retrying\n`);
    }
  }
}

/** The log levels at which wrangler prints "Ready on <url>". */
const SAYS_READY = new Set(["info", "log", "debug"]);

async function startWranglerOnce({
  dir = ROOT,
  build,
  buildHint = "run 'make build' first",
  config: ownConfig,
  name = "worker",
  tag = "worker",
  vars = {},
  varsFor,
  envFile,
  unsetEnv = [],
  persist,
  readyPath = DISCOVERY,
  ready = (res) => res.status === 200,
  pollMs = 250,
  verbose = !!process.env.E2E_VERBOSE,
  logLevel = verbose ? "debug" : "info",
} = {}) {
  const wranglerJs = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  if (!existsSync(wranglerJs)) throw new Error(`${wranglerJs} missing: run 'make tools' (npm ci)`);
  build?.();
  const shim = join(dir, "build", "worker", "shim.mjs");
  if (!ownConfig && !existsSync(shim)) throw new Error(`${relative(ROOT, shim)} missing: ${buildHint}`);

  const port = await freePort();
  const inspectorPort = await freePort();
  const config = ownConfig ?? testConfig(dir, `${tag}${port}`);
  const state = persist || mkdtempSync(join(tmpdir(), "pop-e2e-state-"));
  if (!persist) tempFiles.add(state);
  const env = envFile && writeEnvFile(envFile);
  const logDir = join(ROOT, ".wrangler", "logs");
  mkdirSync(logDir, { recursive: true });

  const args = [
    wranglerJs, "dev",
    "--config", config,
    ...(env ? ["--env-file", env.file] : []),
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", String(inspectorPort),
    "--local",
    "--persist-to", state,
    ...Object.entries({ ...vars, ...(varsFor ? varsFor(port) : {}) }).flatMap(([k, v]) => ["--var", `${k}:${v}`]),
    "--show-interactive-dev-session=false",
    "--log-level", logLevel,
  ];
  const childEnv = { ...process.env };
  for (const k of unsetEnv) delete childEnv[k];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: dir,
    detached: true, // own process group: stop() kills wrangler *and* workerd
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...childEnv,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_LOG_PATH: logDir,
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
  });
  running.add(child.pid);
  // Never keep this process alive for wrangler: if a test forgets stop(), the
  // process still ends and the "exit" handler kills the group.
  child.unref();
  child.stdout.unref();
  child.stderr.unref();

  let output = "";
  const collect = (chunk) => {
    const s = chunk.toString();
    output += s;
    if (output.length > 200_000) output = output.slice(-100_000);
    if (verbose) process.stderr.write(s);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  let exited = null;
  const exitPromise = new Promise((r) =>
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      running.delete(child.pid);
      r();
    }),
  );

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (!exited) {
      killGroup(child.pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), 5_000);
      await exitPromise;
      clearTimeout(timer);
    }
    killGroup(child.pid, "SIGKILL"); // stragglers (workerd) in the group
    running.delete(child.pid);
    if (!ownConfig) removeTemp(config);
    if (!persist) removeTemp(state);
    if (env) removeTemp(env.dir);
  };

  const base = `http://127.0.0.1:${port}`;
  const where = ownConfig ? ` (${relative(ROOT, ownConfig)})` : dir === ROOT ? "" : ` (${relative(ROOT, dir)})`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError = null;
  try {
    while (true) {
      if (exited) throw new Error(`wrangler dev${where} exited early (${JSON.stringify(exited)})`);
      if (Date.now() > deadline) throw new Error(`${name} not ready after ${START_TIMEOUT_MS} ms: ${lastError}`);
      // The port was free when picked, but another process may have taken it
      // before wrangler bound it (another test's workerd binds ports of its
      // own): then what answers there is not this wrangler. Ready only when
      // this wrangler says it serves the port; another port is a retry. Below
      // the info level (make bench's warn) wrangler says nothing: the probe alone.
      const served = output.match(/Ready on (http:\/\/[^\s]+)/)?.[1];
      if (served && served !== base) throw new Error(`wrangler dev${where} exited early (ready on ${served}, not ${base})`);
      const said = served || !SAYS_READY.has(logLevel);
      try {
        const res = await fetch(base + readyPath, { signal: AbortSignal.timeout(5_000) });
        const body = await res.text();
        if (ready(res, body) && said) break;
        lastError = said ? `GET ${readyPath} -> ${res.status}` : "wrangler has not said it is ready";
      } catch (e) {
        lastError = e?.cause?.code || e?.message || String(e);
      }
      await sleep(pollMs);
    }
  } catch (e) {
    await stop();
    e.message += `\n--- wrangler output ---\n${output}`;
    throw e;
  }

  return { base, port, pid: child.pid, startMs: performance.now() - t0, stop, logs: () => output };
}

const buildProvider = () => make(["-s", "build-worker"]);

/** The provider with the repository's .dev.vars (created from
 *  .dev.vars.example when missing), or the one at E2E_BASE. `vars`
 *  ({ NAME: value }, passed with --var as `make dev NAME=value` does) start
 *  a provider of its own even when E2E_BASE is set. */
export async function startWorker({ vars } = {}) {
  if (process.env.E2E_BASE && !vars) return reuse(process.env.E2E_BASE);
  const devVars = join(ROOT, ".dev.vars");
  if (!existsSync(devVars)) copyFileSync(join(ROOT, ".dev.vars.example"), devVars);
  return startWrangler({ build: buildProvider, ...(vars ? { vars, tag: "vars" } : {}) });
}

/**
 * The provider with exactly `vars` as its secrets and variables, from an env
 * file instead of .dev.vars (wrangler.toml [vars] still apply; DEV=1 is added
 * unless given; a var set to `undefined` is left out), for the tests of
 * SECRET handling (a short or missing SECRET, rotation with SECRET_PREVIOUS).
 * Local KV is fresh unless `persist` names a directory to reuse (stateDir()).
 * Ready when the worker answers at all: a misconfigured worker answers 503
 * `server_error`, which is what some tests want to see.
 *
 *   const w2 = await startSecWorker({ vars: { SECRET: a }, persist: dir });
 */
export async function startSecWorker({ vars = {}, persist } = {}) {
  return startWrangler({
    build: buildProvider,
    tag: "sec",
    envFile: { DEV: "1", ...vars },
    // Only the env file may provide secrets.
    unsetEnv: ["SECRET", "SECRET_PREVIOUS", "CLOUDFLARE_INCLUDE_PROCESS_ENV"],
    persist,
    ready: (res, body) => res.status === 200 || (res.status === 503 && body.includes('"server_error"')),
  });
}

/** A fresh directory for local KV that the caller owns (pass it as `persist`
 *  to startSecWorker); removed when this process exits. */
export function stateDir() {
  const dir = mkdtempSync(join(tmpdir(), "pop-e2e-sec-state-"));
  tempFiles.add(dir);
  return dir;
}

/** The example MCP server (examples/mcp-server) with
 *  `--var AUTHORIZATION_SERVER:<provider>`, or the one at E2E_MCP_BASE. Its
 *  first build takes minutes. */
export async function startMcpExample({ authorizationServer, tokenMode = "passthrough", vars = {} }) {
  if (process.env.E2E_MCP_BASE) return reuse(process.env.E2E_MCP_BASE);
  return startWrangler({
    dir: EXAMPLE_DIR,
    build: buildMcpExample,
    buildHint: "run 'make -C examples/mcp-server build'",
    name: "example MCP server",
    tag: "mcp",
    vars: { AUTHORIZATION_SERVER: authorizationServer, TOKEN_MODE: tokenMode, ...vars },
    // Sealed: the key of its own /mcp resource, derived as the README documents.
    varsFor: (port) =>
      tokenMode === "sealed" ? { RESOURCE_KEY: resourceKey(devSecret(), `http://127.0.0.1:${port}/mcp`) } : {},
    readyPath: PRM_PATH,
  });
}

/** A passthrough provider and a sealed one, each with the example MCP
 *  server in the same mode pointing at it:
 *  { passthrough, passthroughMcp, sealed, sealedMcp, stop() }. */
export async function startBothModes() {
  const [passthrough, sealed] = await Promise.all([startWorker(), startWorker({ vars: { TOKEN_MODE: "sealed" } })]);
  const [passthroughMcp, sealedMcp] = await Promise.all([
    startMcpExample({ authorizationServer: passthrough.base }),
    startMcpExample({ authorizationServer: sealed.base, tokenMode: "sealed" }),
  ]);
  const stop = async () => {
    await Promise.all([passthroughMcp.stop(), sealedMcp.stop()]);
    await Promise.all([passthrough.stop(), sealed.stop()]);
  };
  return { passthrough, passthroughMcp, sealed, sealedMcp, stop };
}

/** The provider's dev SECRET (the root's .dev.vars). */
export function devSecret() {
  const devVars = join(ROOT, ".dev.vars");
  if (!existsSync(devVars)) copyFileSync(join(ROOT, ".dev.vars.example"), devVars);
  const line = readFileSync(devVars, "utf8").split("\n").find((l) => l.startsWith("SECRET="));
  return line.slice("SECRET=".length).trim();
}

/** A resource's key as README "Keys" documents it, computed with Node's own
 *  HKDF (an implementation independent of the provider's): HKDF-SHA256,
 *  IKM SECRET, no salt, info "parallel-oauth-provider resource-key v1 " +
 *  the normalized resource, 32 bytes, base64url without padding. */
export function resourceKey(secret, resource) {
  const info = Buffer.concat([Buffer.from("parallel-oauth-provider resource-key v1 "), Buffer.from(resource)]);
  return Buffer.from(hkdfSync("sha256", Buffer.from(secret), Buffer.alloc(0), info, 32)).toString("base64url");
}

/** Brings examples/mcp-server/build up to date (no-op when it is). */
export function buildMcpExample() {
  make(
    ["-s", "-C", EXAMPLE_DIR, "build-worker"],
    ". If wasm-bindgen said " +
      "\"the name `fetch` is exported by multiple crates\", the provider crate's own #[event(fetch)] " +
      "is not behind its default `worker-entry` feature (the example depends on it with default-features = false).",
  );
}
