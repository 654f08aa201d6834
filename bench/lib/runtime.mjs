// Starting a Worker under local workerd (`wrangler dev --local`, as `make dev`
// does) with fresh local state, and measuring the CPU time of its processes.
//
//   const rt = await startWrangler({ label, config });
//   const before = rt.cpu();  ... load ...  const after = rt.cpu();
//   cpuDelta(before, after).workerdMs
//   await rt.stop();
//
// CPU time is utime + stime + cutime + cstime from /proc/<pid>/stat of every
// workerd process in the wrangler process tree (wrangler dev runs two: a
// proxy on the public port and the user Worker behind it; both are on every
// request's path). The wrangler Node process itself is reported separately.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, mkdirSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

import { ROOT } from "./paths.mjs";

const running = new Set();
const killGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {
    /* gone */
  }
};
process.on("exit", () => {
  for (const pid of running) killGroup(pid, "SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    for (const pid of running) killGroup(pid, "SIGKILL");
    process.exit(130);
  });
}

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {
  /* Linux default */
}
export const CLK_TCK = clkTck;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A TCP port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Every process as { pid, ppid, comm, ticks } from /proc. */
function processTable() {
  const table = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ..." — comm may contain spaces and parentheses.
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(open + 1, close);
    const f = stat.slice(close + 2).split(" "); // f[0] = field 3 (state)
    const num = (field) => Number(f[field - 3]);
    table.set(Number(name), {
      pid: Number(name),
      ppid: num(4),
      comm,
      state: f[0],
      ticks: num(14) + num(15) + num(16) + num(17),
      startTicks: num(22),
    });
  }
  return table;
}

/** The processes under `root` (included), from one /proc snapshot. */
export function processTree(root) {
  const table = processTable();
  const children = new Map();
  for (const p of table.values()) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(p);
  }
  const out = [];
  const queue = table.has(root) ? [table.get(root)] : [];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(children.get(p.pid) || []));
  }
  return out;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

/**
 * CPU snapshot of a process tree: ticks per workerd process and for Node.
 * With `publicPort`, the workerd listening on it is the wrangler dev proxy.
 */
export function cpuSnapshot(root, publicPort) {
  const procs = processTree(root).filter((p) => p.state !== "Z");
  const workerd = {};
  let node = 0;
  for (const p of procs) {
    if (p.comm === "workerd") {
      const role = publicPort && cmdline(p.pid).includes(`entry=127.0.0.1:${publicPort} `) ? "proxy" : "worker";
      workerd[`${role}:${p.pid}`] = p.ticks;
    } else if (p.comm.startsWith("node") && p.pid !== process.pid) {
      node += p.ticks;
    }
  }
  return { at: performance.now(), workerd, node };
}

/** CPU milliseconds between two snapshots. */
export function cpuDelta(before, after) {
  const ms = (ticks) => (ticks * 1000) / CLK_TCK;
  const byProcess = {};
  let workerdTicks = 0;
  for (const [key, ticks] of Object.entries(after.workerd)) {
    const d = ticks - (before.workerd[key] ?? 0);
    byProcess[key.split(":")[0]] = (byProcess[key.split(":")[0]] ?? 0) + ms(d);
    workerdTicks += d;
  }
  return {
    wallMs: after.at - before.at,
    workerdMs: ms(workerdTicks),
    byRole: byProcess,
    wranglerNodeMs: ms(after.node - before.node),
  };
}

/**
 * Starts `wrangler dev --local` for `config` on a free port with fresh local
 * state; resolves once `readyPath` answers 200. `startMs` is the time from
 * spawning wrangler to that first answered request.
 */
export async function startWrangler({ label, config, readyPath, timeoutMs = 180_000, verbose = false }) {
  const wranglerJs = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
  const port = await freePort();
  const inspectorPort = await freePort();
  const persist = mkdtempSync(join(tmpdir(), `pop-bench-${label}-`));
  const logDir = join(ROOT, "target", "bench", "logs");
  mkdirSync(logDir, { recursive: true });
  const args = [
    wranglerJs, "dev",
    "--config", config,
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", String(inspectorPort),
    "--local",
    "--persist-to", persist,
    "--show-interactive-dev-session=false",
    "--log-level", verbose ? "debug" : "warn",
  ];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true, // own process group: stop() kills wrangler and workerd
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
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
    if (verbose) process.stderr.write(chunk);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  let exited = null;
  const exitPromise = new Promise((r) =>
    child.on("exit", (code, signal) => {
      exited = { code, signal };
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
    killGroup(child.pid, "SIGKILL");
    running.delete(child.pid);
    rmSync(persist, { recursive: true, force: true });
  };

  const base = `http://127.0.0.1:${port}`;
  let lastError = "";
  try {
    while (true) {
      if (exited) throw new Error(`wrangler dev exited early (${JSON.stringify(exited)})`);
      if (performance.now() - t0 > timeoutMs) throw new Error(`${label}: not ready after ${timeoutMs} ms: ${lastError}`);
      try {
        const res = await fetch(base + readyPath, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status === 200) break;
        lastError = `GET ${readyPath} -> ${res.status}`;
      } catch (e) {
        lastError = e?.cause?.code || e?.message || String(e);
      }
      await sleep(20);
    }
  } catch (e) {
    await stop();
    e.message += `\n--- wrangler output ---\n${output}`;
    throw e;
  }
  const startMs = performance.now() - t0;
  return {
    label,
    base,
    port,
    pid: child.pid,
    startMs,
    stop,
    logs: () => output,
    cpu: () => cpuSnapshot(child.pid, port),
  };
}

/**
 * Starts our Worker or the original in a plain workerd through Miniflare
 * (the library wrangler dev uses), without wrangler's dev proxy, inspector
 * plumbing, middleware or static-assets routing: closer to what the
 * production runtime spends on the Worker itself.
 */
export async function startMiniflare({ label, options }) {
  const { Miniflare } = await import("miniflare");
  const t0 = performance.now();
  const mf = new Miniflare({ ...options, host: "127.0.0.1", port: 0, kvPersist: false });
  const url = await mf.ready;
  const base = url.toString().replace(/\/$/, "");
  const res = await fetch(`${base}/.well-known/oauth-authorization-server`);
  await res.arrayBuffer();
  if (res.status !== 200) {
    await mf.dispose();
    throw new Error(`${label}: metadata -> ${res.status}`);
  }
  const workerd = () => processTree(process.pid).filter((p) => p.comm === "workerd");
  if (workerd().length !== 1) {
    await mf.dispose();
    throw new Error(`${label}: expected one workerd child, found ${workerd().length}`);
  }
  return {
    label,
    base,
    startMs: performance.now() - t0,
    stop: () => mf.dispose(),
    logs: () => "",
    cpu: () => cpuSnapshot(process.pid, null),
  };
}
