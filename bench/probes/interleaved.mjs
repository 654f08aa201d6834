#!/usr/bin/env node
// Builds of our Worker and the protocol floor side by side in plain workerd,
// one request at a time in turn: each iteration sends the same request (or
// the whole passthrough flow) to every Worker, so that the machine's drift,
// which moves every absolute number by 15-40% within an hour and rounds of a
// few seconds by ±20% against each other, falls on all of them within
// milliseconds. CPU is each workerd's threads' run time in nanoseconds
// (/proc/<pid>/task/*/schedstat), not /proc/stat's 10 ms ticks. Prints, per
// step, each Worker's µs per request and its ratio to the floor (median of
// the rounds, and their range).
//
//   cp -r build /tmp/before      # the build to compare against
//   ... change, make build ...
//   node bench/probes/interleaved.mjs /tmp/before build
//
// Env: R rounds (default 6), N requests per step and round (300; a fifth of
// that in flows), K the steps (metadata,register,consent,flow; and steps: N
// flows, each request's CPU apart, its total as the flow's), W the
// warm-up (1: 500 requests per step, 100 flows, before the rounds), BYTES=1 adds
// the byte floor (bench/byte-floor/worker.mjs), MODULE=1 the module floor (the
// byte floor with our WASM instantiated beside it: bench/probes/module-floor). With TMPDIR=/dev/shm the
// runtimes' storage is on tmpfs (README, Performance).

import { basename, resolve } from "node:path";

import { byteFloorOptions, captureOurs, moduleFloorOptions, protocolFloorOptions } from "../lib/capture.mjs";
import { oursWorkerOptions } from "../lib/coldstart.mjs";
import {
  OURS_REDIRECT,
  authorizeUrl,
  consentPageStep,
  consentPostStep,
  flowStart,
  oursFlow,
  pkcePair,
  publicClient,
  tokenStep,
} from "../lib/flows.mjs";
import { ROOT } from "../lib/paths.mjs";
import { runNs, startMiniflare } from "../lib/runtime.mjs";

const dirs = process.argv.slice(2);
if (dirs.length === 0) dirs.push(resolve(ROOT, "build"));
const R = Number(process.env.R || 6);
const N = Number(process.env.N || 300);
const STEPS = (process.env.K || "metadata,register,consent,flow").split(",");
const WARM = Number(process.env.W || 1);

const workers = [];
for (const [i, dir] of dirs.entries()) {
  workers.push(await startMiniflare({ label: `${i}:${basename(resolve(dir))}`, options: oursWorkerOptions({}, dir) }));
}
const canned = await captureOurs(workers[0].base);
if (process.env.BYTES === "1") workers.push(await startMiniflare({ label: "bytes", options: await byteFloorOptions(canned) }));
if (process.env.MODULE === "1") workers.push(await startMiniflare({ label: "module", options: await moduleFloorOptions(canned) }));
workers.push(await startMiniflare({ label: "floor", options: protocolFloorOptions(canned) }));

try {
  // One registration and one authorization URL, replayed at every Worker.
  const first = workers[0].base;
  const meta = await (await fetch(`${first}/.well-known/oauth-authorization-server`)).json();
  const registration = JSON.stringify(publicClient("interleaved client"));
  const { client_id: clientId } = await (
    await fetch(meta.registration_endpoint, { method: "POST", headers: { "content-type": "application/json" }, body: registration })
  ).json();
  const auth = authorizeUrl(meta, { clientId, redirectUri: OURS_REDIRECT, challenge: pkcePair().challenge, state: "s" }).toString();
  const at = (rt, url) => url.replace(first, rt.base);
  const step = {
    metadata: (rt) => fetch(`${rt.base}/.well-known/oauth-authorization-server`),
    register: (rt) =>
      fetch(at(rt, meta.registration_endpoint), { method: "POST", headers: { "content-type": "application/json" }, body: registration }),
    consent: (rt) => fetch(at(rt, auth)),
    flow: (rt) => oursFlow(rt.base),
    steps: (rt) => splitFlow(rt),
  };
  for (const name of STEPS) if (!step[name]) throw new Error(`unknown step ${name} (K=${STEPS})`);

  // K=steps: the flow with each request's CPU apart (its work after the
  // answer, such as the token's waitUntil, counted in the next flow's lap).
  const split = {};
  const lap = (rt, name) => {
    const now = runNs(rt);
    if (rt.lapAt !== undefined) (split[rt.label] ??= {})[name] = (split[rt.label][name] ?? 0) + (now - rt.lapAt);
    rt.lapAt = now;
  };
  async function splitFlow(rt) {
    const times = [];
    lap(rt, "token");
    const start = await flowStart(times, rt.base);
    const page = await consentPageStep(times, start.meta, start);
    lap(rt, "start+page");
    const code = await consentPostStep(times, rt.base, start.meta, page, start);
    lap(rt, "consent POST");
    await tokenStep(times, start.meta, { ...start, code, redirectUri: OURS_REDIRECT });
  }

  const send = async (name, rt) => {
    const res = await step[name](rt);
    if (res instanceof Response) {
      await res.arrayBuffer();
      if (res.status >= 400) throw new Error(`${name} at ${rt.label}: HTTP ${res.status}`);
    }
  };
  const us = {};
  for (const name of STEPS) {
    for (let i = 0; i < (name === "flow" ? 100 : 500) * WARM; i++) for (const rt of workers) await send(name, rt); // V8 warms up
  }
  for (const k of Object.keys(split)) delete split[k];
  for (let round = 0; round < R; round++) {
    for (const name of STEPS) {
      const n = name === "flow" ? Math.ceil(N / 5) : N;
      const before = workers.map(runNs);
      // Each iteration starts at another Worker, so none is always first.
      for (let i = 0; i < n; i++) for (let j = 0; j < workers.length; j++) await send(name, workers[(i + j) % workers.length]);
      const after = workers.map(runNs);
      workers.forEach((rt, j) => (us[`${name} ${rt.label}`] ??= []).push((after[j] - before[j]) / n / 1000));
    }
  }

  if (STEPS.includes("steps")) {
    const flows = N * R; // a step of K=steps is N flows
    for (const rt of workers) {
      const cells = Object.entries(split[rt.label]).map(([k, ns]) => `${k} ${(ns / flows / 1000).toFixed(0)}`);
      console.log(`steps     ${rt.label}: ${cells.join(", ")} µs per flow`);
    }
  }
  const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
  for (const name of STEPS) {
    const floor = us[`${name} floor`];
    const cells = workers.map((rt) => {
      const own = us[`${name} ${rt.label}`];
      const ratios = own.map((x, i) => x / floor[i]);
      const range = `${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)}`;
      return `${rt.label} ${median(own).toFixed(0)} µs (${median(ratios).toFixed(3)}x [${range}])`;
    });
    console.log(`${name.padEnd(9)} ${cells.join("  ")}`);
  }
} finally {
  for (const rt of workers) await rt.stop();
}
