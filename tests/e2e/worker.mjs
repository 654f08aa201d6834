// Starts the real worker in workerd via `wrangler dev` for the e2e tests.
//
//   const worker = await startWorker();   // { base, port, stop(), logs() }
//   ...
//   await worker.stop();
//
// - listens on a free port on 127.0.0.1, with fresh local state (KV) in a temp dir;
// - expects build/ to be up to date (`make test` builds first); wrangler's
//   [build] command (`make -s build-worker`) is then a millisecond no-op;
// - wrangler and workerd run in their own process group, killed on stop() and,
//   as a last resort, when this Node process exits (even after a failure).
//
// E2E_BASE=http://127.0.0.1:8787 reuses an already running worker instead
// (e.g. `make dev` in another terminal); E2E_VERBOSE=1 echoes wrangler's output.

import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DISCOVERY = "/.well-known/oauth-authorization-server";

const START_TIMEOUT_MS = Number(process.env.E2E_START_TIMEOUT_MS || 180_000);
const running = new Set();

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

process.on("exit", () => {
  for (const pid of running) killGroup(pid, "SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    for (const pid of running) killGroup(pid, "SIGKILL");
    process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
  });
}

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolvePort(port));
    });
  });
}

function ensureDevVars() {
  const devVars = join(ROOT, ".dev.vars");
  if (!existsSync(devVars)) copyFileSync(join(ROOT, ".dev.vars.example"), devVars);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startWorker() {
  if (process.env.E2E_BASE) {
    const base = process.env.E2E_BASE.replace(/\/+$/, "");
    return { base, port: Number(new URL(base).port), stop: async () => {}, logs: () => "" };
  }

  ensureDevVars();
  const wranglerJs = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  if (!existsSync(wranglerJs)) throw new Error(`${wranglerJs} missing: run 'make tools' (npm ci)`);
  if (!existsSync(join(ROOT, "build", "worker", "shim.mjs"))) {
    throw new Error("build/worker/shim.mjs missing: run 'make build' first");
  }

  const port = await freePort();
  const inspectorPort = await freePort();
  const persist = mkdtempSync(join(tmpdir(), "pop-e2e-state-"));
  const logDir = join(ROOT, ".wrangler", "logs");
  mkdirSync(logDir, { recursive: true });

  const args = [
    wranglerJs, "dev",
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", String(inspectorPort),
    "--local",
    "--persist-to", persist,
    "--show-interactive-dev-session=false",
    "--log-level", process.env.E2E_VERBOSE ? "debug" : "info",
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true, // own process group: stop() kills wrangler *and* workerd
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      CI: "true",
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_LOG_PATH: logDir,
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
  });
  running.add(child.pid);

  let output = "";
  const collect = (chunk) => {
    const s = chunk.toString();
    output += s;
    if (output.length > 200_000) output = output.slice(-100_000);
    if (process.env.E2E_VERBOSE) process.stderr.write(s);
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
    rmSync(persist, { recursive: true, force: true });
  };

  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError = null;
  try {
    while (true) {
      if (exited) throw new Error(`wrangler dev exited early (${JSON.stringify(exited)})`);
      if (Date.now() > deadline) throw new Error(`worker not ready after ${START_TIMEOUT_MS} ms: ${lastError}`);
      try {
        const res = await fetch(base + DISCOVERY, { signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
        lastError = `GET ${DISCOVERY} -> ${res.status}`;
      } catch (e) {
        lastError = e?.cause?.code || e?.message || String(e);
      }
      await sleep(250);
    }
  } catch (e) {
    await stop();
    e.message += `\n--- wrangler output ---\n${output}`;
    throw e;
  }

  return { base, port, stop, logs: () => output };
}
