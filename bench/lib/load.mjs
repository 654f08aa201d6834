// Closed-loop load: `concurrency` clients each run flows back to back, for
// a fixed time or a fixed number of flows, while the runtime's CPU time is
// sampled before and after.

import os from "node:os";
import { performance } from "node:perf_hooks";

import { cpuDelta } from "./runtime.mjs";

export function percentile(sorted, p) {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  const round = (x) => (x == null ? null : Math.round(x * 1000) / 1000);
  const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : null;
  return { n: s.length, mean: round(mean), p50: round(percentile(s, 50)), p95: round(percentile(s, 95)), p99: round(percentile(s, 99)), max: round(s[s.length - 1]) };
}

/**
 * Runs `flow(base)` with `concurrency` clients until `seconds` have passed
 * or `flows` flows have started: one slice of a measurement, raw (see
 * summarize()).
 */
export async function measure({ runtime, flow, steps, concurrency, seconds, flows: target }) {
  const perStep = new Map(steps.map((s) => [s, []]));
  const flowMs = [];
  const errors = new Map();
  let started = 0;
  let ok = 0;
  let failed = 0;
  const cpuBefore = runtime.cpu();
  const clientBefore = process.cpuUsage();
  const t0 = performance.now();
  const deadline = seconds ? t0 + seconds * 1000 : Infinity;
  const more = () => (target ? started < target : performance.now() < deadline);

  async function client() {
    while (more()) {
      started++;
      const t = performance.now();
      try {
        const times = await flow(runtime.base, runtime);
        flowMs.push(performance.now() - t);
        for (const [name, ms] of times) perStep.get(name).push(ms);
        ok++;
      } catch (e) {
        failed++;
        const msg = String(e?.message || e).slice(0, 200);
        errors.set(msg, (errors.get(msg) || 0) + 1);
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client));
  const wallMs = performance.now() - t0;
  const cpu = cpuDelta(cpuBefore, runtime.cpu());
  const client_ = process.cpuUsage(clientBefore);
  return { concurrency, steps, wallMs, ok, failed, flowMs, perStep, errors, cpu, clientMs: (client_.user + client_.system) / 1000 };
}

/**
 * Throughput, latency per step and per flow, failures, and the runtime's
 * CPU per flow over one or more slices from measure() (the benchmark
 * interleaves slices of the implementations it compares, so that drift in
 * the machine's speed falls on all of them alike).
 */
export function summarize(slices, label) {
  const { concurrency, steps } = slices[0];
  const sum = (f) => slices.reduce((a, s) => a + f(s), 0);
  const wallMs = sum((s) => s.wallMs);
  const ok = sum((s) => s.ok);
  const failed = sum((s) => s.failed);
  const flows = ok + failed;
  const workerdMs = sum((s) => s.cpu.workerdMs);
  const byRole = {};
  for (const s of slices) for (const [k, v] of Object.entries(s.cpu.byRole)) byRole[k] = (byRole[k] ?? 0) + v;
  const errors = {};
  for (const s of slices) for (const [k, v] of s.errors) errors[k] = (errors[k] ?? 0) + v;
  const perFlow = (x) => (flows ? x / flows : null);
  return {
    label,
    concurrency,
    slices: slices.length,
    seconds: wallMs / 1000,
    flows,
    ok,
    failed,
    requests: flows * steps.length,
    flowsPerSec: ok / (wallMs / 1000),
    latencyMs: {
      flow: summary(slices.flatMap((s) => s.flowMs)),
      steps: Object.fromEntries(steps.map((name) => [name, summary(slices.flatMap((s) => s.perStep.get(name)))])),
    },
    cpu: {
      workerdMs,
      workerdMsPerFlow: perFlow(workerdMs),
      byRoleMsPerFlow: Object.fromEntries(Object.entries(byRole).map(([k, v]) => [k, perFlow(v)])),
      wranglerNodeMsPerFlow: perFlow(sum((s) => s.cpu.wranglerNodeMs)),
      clientMsPerFlow: perFlow(sum((s) => s.clientMs)),
      workerdCoresBusy: workerdMs / wallMs,
    },
    errors,
    // Other work on the machine skews throughput (CPU per flow much less).
    loadAverage1m: os.loadavg()[0],
  };
}
