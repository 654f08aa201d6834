// `make bench`'s own parts against the built Worker in plain workerd, so that
// a change to the Worker that would break the benchmark fails here first:
// the flow the bench drives, the capture of our responses, and the protocol
// floor (bench/protocol-floor/) answering that same flow from the capture, and
// the byte floor (bench/byte-floor/) doing the same through WASM, and the module
// floor (bench/probes/module-floor/: the byte floor with our WASM beside it).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { byteFloorOptions, captureOurs, moduleFloorOptions, protocolFloorOptions, recordFlow } from "../../bench/lib/capture.mjs";
import { originalWorkerOptions, oursWorkerOptions } from "../../bench/lib/coldstart.mjs";
import { OURS_STEPS, noopFlow, oursFlow } from "../../bench/lib/flows.mjs";
import { ROOT } from "../../bench/lib/paths.mjs";
import { peerWorkerOptions } from "../../bench/lib/peer.mjs";
import { startSealed } from "../../bench/lib/sealed.mjs";
import { benchConfigForOurs } from "../../bench/lib/config.mjs";
import { cpuDelta, startMiniflare, startWranglerRuntime } from "../../bench/lib/runtime.mjs";

/** The header names of each response of one flow against `base`, in order. */
async function headerNames(base) {
  const responses = await recordFlow(base);
  return responses.map((r) => Object.keys(r.headers.raw).filter((n) => n !== "date" && n !== "location").sort());
}

describe("make bench's flows, capture and protocol floor", () => {
  let ours;
  let floor;
  let bytes;
  let module;
  let canned;
  before(async () => {
    ours = await startMiniflare({ label: "ours", options: oursWorkerOptions() });
    canned = await captureOurs(ours.base);
    floor = await startMiniflare({ label: "protocol floor", options: protocolFloorOptions(canned) });
    bytes = await startMiniflare({ label: "byte floor", options: await byteFloorOptions(canned) });
    module = await startMiniflare({ label: "module floor", options: await moduleFloorOptions(canned) });
  });
  after(async () => {
    await module?.stop();
    await bytes?.stop();
    await floor?.stop();
    await ours?.stop();
  });

  test("the bench's flow completes against our Worker, each step timed, and its CPU is measured", async () => {
    const start = ours.cpu();
    assert.equal(Object.keys(start.workerd).length, 1, "one workerd process: the Worker's own");
    const times = await oursFlow(ours.base);
    assert.deepEqual(times.map(([step]) => step), OURS_STEPS);
    assert.ok(times.every(([, ms]) => ms > 0));
    assert.equal((await noopFlow(ours.base)).length, 5);
    // About 5 ms of CPU per flow: twenty flows are well above the clock tick (10 ms).
    for (let i = 0; i < 20; i++) await oursFlow(ours.base);
    assert.ok(cpuDelta(start, ours.cpu()).workerdMs > 0, "the flows' CPU shows in /proc");
  });

  test("the capture holds our five responses, their per-flow values as placeholders", () => {
    assert.deepEqual(
      ["metadata", "register", "consent", "approve", "token"].map((k) => canned[k].status),
      [200, 201, 200, 303, 200],
    );
    assert.match(canned.metadata.body, /"issuer":"\{\{origin\}\}"/);
    assert.ok(!canned.metadata.body.includes(ours.base), "no address of the capturing Worker is left");
    assert.match(canned.consent.body, /name="request"[^>]*value="\{\{request\}\}"/);
    assert.match(canned.token.body, /"access_token":"\{\{key\}\}"/);
    assert.ok(canned.consent.headers.some(([n, v]) => n === "set-cookie" && v.startsWith("__Host-parallel-oauth-csrf=")));
    assert.ok(!canned.approve.headers.some(([n]) => n === "location"), "the redirect is made per flow");
  });

  test("the protocol floor answers the same flow, with the key typed, and the same headers as ours", async () => {
    const times = await oursFlow(floor.base);
    assert.deepEqual(times.map(([step]) => step), OURS_STEPS);
    assert.deepEqual(await headerNames(floor.base), await headerNames(ours.base));
  });

  test("the byte floor answers the same flow as the protocol floor: statuses, headers and bodies", async () => {
    const times = await oursFlow(bytes.base);
    assert.deepEqual(times.map(([step]) => step), OURS_STEPS);
    const [viaWasm, plain] = [await recordFlow(bytes.base), await recordFlow(floor.base)];
    const bare = (base) => (r) => ({
      status: r.status,
      headers: Object.entries(r.headers.raw).filter(([n]) => n !== "date" && n !== "location"),
      // The per-flow values (the code, the typed key) differ from flow to flow.
      body: r.text().replaceAll(base, "{{origin}}").replace(/"access_token":"[^"]*"/, "").replace(/name="request"[^>]*/, ""),
    });
    assert.deepEqual(viaWasm.map(bare(bytes.base)), plain.map(bare(floor.base)));
    assert.ok(viaWasm[2].headers.raw["set-cookie"], "the consent page's cookie is kept");
  });

  test("the module floor answers the same flow as the byte floor, with our WASM's allocator run per request", async () => {
    const times = await oursFlow(module.base);
    assert.deepEqual(times.map(([step]) => step), OURS_STEPS);
    const [withOurs, bytesOnly] = [await recordFlow(module.base), await recordFlow(bytes.base)];
    const shape = (r) => ({ status: r.status, headers: Object.keys(r.headers.raw).filter((n) => n !== "date").sort() });
    assert.deepEqual(withOurs.map(shape), bytesOnly.map(shape));
  });
});

/** `python3 bench/probes/dev-ratios.py --once <name> <port of base> [<port of mcp>]`: { status, output }. */
function outsideFlow(name, base, mcp) {
  const ports = [base, ...(mcp ? [mcp] : [])].map((u) => new URL(u).port);
  const r = spawnSync("python3", [join(ROOT, "bench", "probes", "dev-ratios.py"), "--once", name, ...ports], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const HAS_PYTHON = spawnSync("python3", ["--version"]).status === 0;

describe("bench/probes/dev-ratios.py's own flows (the outside check of the make dev ratios)", { skip: !HAS_PYTHON && "no python3" }, () => {
  const workers = {};
  before(async () => {
    workers.ours = await startMiniflare({ label: "ours", options: oursWorkerOptions() });
    workers.peer = await startMiniflare({ label: "peer", options: await peerWorkerOptions() });
    workers.original = await startMiniflare({ label: "original", options: await originalWorkerOptions() });
    workers.sealed = await startSealed({ mode: "workerd" });
  });
  after(async () => {
    for (const w of Object.values(workers)) await w?.stop();
  });

  for (const name of ["ours", "peer", "original"]) {
    test(`its ${name} flow completes against the ${name} Worker`, () => {
      const { status, output } = outsideFlow(name, workers[name].base);
      assert.equal(status, 0, output);
      assert.match(output, new RegExp(`^${name}: one flow completed`));
    });
  }

  test("its sealed flow completes: our sealed Worker, then the example MCP server opening the token", () => {
    const { status, output } = outsideFlow("sealed", workers.sealed.base, workers.sealed.resource);
    assert.equal(status, 0, output);
    assert.match(output, /^sealed: one flow completed/);
  });

  test("its flows check what they get: ours fails against the peer, the peer's against ours, sealed against passthrough", () => {
    const oursOnPeer = outsideFlow("ours", workers.peer.base);
    assert.notEqual(oursOnPeer.status, 0);
    assert.match(oursOnPeer.output, /ours flow on port \d+ failed/);
    assert.notEqual(outsideFlow("peer", workers.ours.base).status, 0);
    // Passthrough hands the key back, not a token sealed for the MCP server.
    const sealedOnPassthrough = outsideFlow("sealed", workers.ours.base, workers.sealed.resource);
    assert.notEqual(sealedOnPassthrough.status, 0);
    assert.match(sealedOnPassthrough.output, /sealed flow on port \d+ failed/);
  });
});

describe("make bench's wrangler mode", () => {
  test("make_bench_waited_for_a_ready_line_wrangler_never_prints_at_warn: ours under wrangler dev starts and answers a flow", { timeout: 240_000 }, async () => {
    // make bench runs wrangler at --log-level warn, where it never prints "Ready on":
    // the harness waited for that line until its timeout, and make bench failed.
    const t0 = Date.now();
    const rt = await startWranglerRuntime({ label: "ours", config: benchConfigForOurs(), readyPath: "/.well-known/oauth-authorization-server" });
    try {
      assert.ok(Date.now() - t0 < 120_000, "ready well before the harness's timeout");
      const times = await oursFlow(rt.base);
      assert.deepEqual(times.map(([step]) => step), OURS_STEPS);
    } finally {
      await rt.stop();
    }
  });
});
