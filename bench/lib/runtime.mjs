// Starting a Worker under local workerd (`wrangler dev --local`, as `make dev`
// does, through the e2e tests' startWrangler()) with fresh local state, or in
// a plain workerd through Miniflare, and measuring the CPU time of its
// processes.
//
//   const rt = await startWranglerRuntime({ label, config, readyPath });
//   const before = rt.cpu();  ... load ...  const after = rt.cpu();
//   cpuDelta(before, after).workerdMs
//   await rt.stop();
//
// CPU time is utime + stime + cutime + cstime from /proc/<pid>/stat of every
// workerd process in the wrangler process tree (wrangler dev runs two: a
// proxy on the public port and the user Worker behind it; both are on every
// request's path). The wrangler Node process itself is reported separately.

import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";

import { startWrangler } from "../../tests/e2e/worker.mjs";

let clkTck = 100;
try {
  clkTck = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {
  /* Linux default */
}
export const CLK_TCK = clkTck;

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

/**
 * Nanoseconds of CPU that the workerd processes under `rt` (a runtime of
 * startMiniflare()) have run: their threads' run time from
 * /proc/<pid>/task/<tid>/schedstat, not /proc/<pid>/stat's 10 ms ticks.
 */
export function runNs(rt) {
  let ns = 0;
  for (const p of processTree(rt.pid)) {
    if (p.comm !== "workerd") continue;
    for (const task of readdirSync(`/proc/${p.pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${p.pid}/task/${task}/schedstat`, "latin1").split(" ")[0]);
      } catch {
        /* the thread exited meanwhile */
      }
    }
  }
  return ns;
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
 * Starts `wrangler dev --local` for `config` (used as it is: the caller
 * leaves out [build]) on a free port with fresh local state; resolves once
 * `readyPath` answers 200. `startMs` is the time from spawning wrangler to
 * that first answered request (polled every 20 ms). `vars` ({ NAME: value })
 * and `varsFor(port)` go to wrangler as `--var NAME:value`.
 */
export async function startWranglerRuntime({ label, config, readyPath, vars = {}, varsFor, verbose = false }) {
  const rt = await startWrangler({
    config,
    name: label,
    readyPath,
    vars,
    varsFor,
    pollMs: 20,
    verbose,
    // Quieter than the e2e default (info): wrangler does as little beside the load as it can.
    logLevel: verbose ? "debug" : "warn",
  });
  return { label, ...rt, cpu: () => cpuSnapshot(rt.pid, rt.port) };
}

/**
 * Starts a Worker (ours, the original, the peer, the example MCP server) in
 * a plain workerd through Miniflare (the library wrangler dev uses), without
 * wrangler's dev proxy, inspector plumbing, middleware or static-assets
 * routing: closer to what the production runtime spends on the Worker
 * itself. On `port` (default: any free one); ready when `readyPath` answers
 * 200.
 */
export async function startMiniflare({ label, options, port = 0, readyPath = "/.well-known/oauth-authorization-server" }) {
  const { Miniflare } = await import("miniflare");
  const workerd = () => processTree(process.pid).filter((p) => p.comm === "workerd" && p.state !== "Z").map((p) => p.pid);
  const running = new Set(workerd());
  const t0 = performance.now();
  const mf = new Miniflare({ ...options, host: "127.0.0.1", port, kvPersist: false });
  const url = await mf.ready;
  const base = url.toString().replace(/\/$/, "");
  const res = await fetch(`${base}${readyPath}`);
  await res.arrayBuffer();
  if (res.status !== 200) {
    await mf.dispose();
    throw new Error(`${label}: GET ${readyPath} -> ${res.status}`);
  }
  // Its own workerd only: another implementation may be running beside it.
  const own = workerd().filter((pid) => !running.has(pid));
  if (own.length !== 1) {
    await mf.dispose();
    throw new Error(`${label}: expected one new workerd child, found ${own.length}`);
  }
  return {
    label,
    base,
    startMs: performance.now() - t0,
    stop: () => mf.dispose(),
    logs: () => "",
    cpu: () => cpuSnapshot(own[0], null),
    pid: own[0],
  };
}
