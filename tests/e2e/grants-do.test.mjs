// The `Grants` Durable Object (src/workers/grants_object.rs) in plain workerd
// (Miniflare), called directly through its namespace as the Worker's
// DurableGrants calls it (RPC `run`): one object per subject, a JSON GrantCommand
// in, a JSON GrantReply out (the serde forms of src/grants/ledger.rs: "op" tags
// commands, "reply" replies, "result" rotation outcomes). No provider route
// reaches the object yet, and none is added for the test: a second Worker
// bound to the class is the test's own way in.
//
// What it proves: the ledger runs atomically in the real runtime (five
// concurrent refreshes of one token give one rotation and four replays of
// the same successor), reuse after the grace window revokes the grant,
// subjects are apart, a bad body is refused (bad_command) and leaves the object working,
// and the SQLite state survives a restart of the runtime.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { BUILT_WORKER, DISCOVERY, ROOT } from "./worker.mjs";

const GRACE = 60;
const IDLE = 30 * 24 * 3600;
const T0 = 1_800_000_000;

// A second Worker bound to the class, calling it as DurableGrants does (RPC
// `run` inside workerd: Miniflare's Node-side proxy does not keep a rejected
// call's message). POST {subject, command}: {ok, text}.
const CLIENT = `
export default {
  async fetch(request, env) {
    const { subject, command } = await request.json();
    const stub = env.GRANTS.get(env.GRANTS.idFromName(subject));
    try {
      return Response.json({ ok: true, text: await stub.run(command) });
    } catch (e) {
      return Response.json({ ok: false, text: String(e?.message ?? e) });
    }
  },
};
`;

function options(persist, log) {
  return {
    host: "127.0.0.1",
    port: 0,
    durableObjectsPersist: persist,
    kvPersist: false,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (chunk) => log.push(String(chunk)));
    },
    workers: [
      {
        name: "provider",
        ...BUILT_WORKER,
        compatibilityDate: "2026-04-20",
        bindings: { SECRET: "grants-do-test-secret-0123456789abcdefghijkl", DEV: "1" },
        kvNamespaces: ["KV"],
        durableObjects: { GRANTS: { className: "Grants", useSQLite: true } },
      },
      {
        name: "client",
        modules: true,
        script: CLIENT,
        compatibilityDate: "2026-04-20",
        durableObjects: { GRANTS: { className: "Grants", scriptName: "provider", useSQLite: true } },
      },
    ],
  };
}

function record(id, created, extra = {}) {
  return {
    id,
    client_id: "https://client.example/meta.json",
    client_name: "Client",
    client_host: "client.example",
    resource: "https://mcp.example/mcp",
    scope: "api",
    mode: "sealed",
    created,
    last_used: created,
    generation: 0,
    rotated_at: created,
    revoked: false,
    ...extra,
  };
}

const rotate = (id, generation, now) => ({ op: "rotate", id, generation, now, grace: GRACE, idle: IDLE });

describe("the Grants Durable Object (SQLite) in workerd", () => {
  const persist = mkdtempSync(join(tmpdir(), "pop-e2e-grants-"));
  const log = [];
  let mf;
  let client;

  async function start() {
    mf = new Miniflare(options(persist, log));
    await mf.ready;
    client = await mf.getWorker("client");
  }

  /**
   * Sends `body` (a command, or a raw string) to `subject`'s object over RPC
   * (`run`, as DurableGrants calls it): { ok, json, text } where `text` is the
   * reply, or the message of the error the call was rejected with.
   */
  async function send(subject, body) {
    const command = typeof body === "string" || typeof body === "number" ? body : JSON.stringify(body);
    const res = await client.fetch("http://client/", { method: "POST", body: JSON.stringify({ subject, command }) });
    const { ok, text } = await res.json();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { ok, json, text };
  }

  /** The reply to a command that must succeed. */
  async function call(subject, command) {
    const { ok, json, text } = await send(subject, command);
    assert.ok(ok, `${JSON.stringify(command)} -> ${text}`);
    return json;
  }

  before(start);
  after(async () => {
    await mf?.dispose();
    rmSync(persist, { recursive: true, force: true });
  });

  test("create, get and an idempotent create (the JSON shapes of ledger.rs)", async () => {
    assert.deepEqual(await call("subject-a", { op: "create", record: record("g1", T0) }), { reply: "done" });
    assert.deepEqual(await call("subject-a", { op: "get", id: "g1" }), { reply: "record", record: record("g1", T0) });
    // A retried code exchange creates nothing twice: the first record stays.
    const other = record("g1", T0 + 5, { client_id: "someone-else" });
    assert.deepEqual(await call("subject-a", { op: "create", record: other }), { reply: "done" });
    assert.equal((await call("subject-a", { op: "get", id: "g1" })).record.client_id, record("g1", T0).client_id);
    // Optional fields left out stay out.
    const bare = { ...record("g0", T0 - 10, { mode: "passthrough" }) };
    for (const k of ["client_name", "client_host", "resource", "scope"]) delete bare[k];
    await call("subject-a", { op: "create", record: bare });
    assert.deepEqual(await call("subject-a", { op: "get", id: "g0" }), { reply: "record", record: bare });
    assert.deepEqual(await call("subject-a", { op: "get", id: "nope" }), { reply: "record" });
  });

  test("five concurrent refreshes of one token: one rotation, four replays of the same successor", async () => {
    const now = T0 + 100;
    const replies = await Promise.all(Array.from({ length: 5 }, () => call("subject-a", rotate("g1", 0, now))));
    const outcomes = replies.map((r) => {
      assert.equal(r.reply, "rotation");
      return r.outcome;
    });
    const rotated = outcomes.filter((o) => o.result === "rotated");
    const replayed = outcomes.filter((o) => o.result === "replayed");
    assert.equal(rotated.length, 1, JSON.stringify(outcomes));
    assert.equal(replayed.length, 4, JSON.stringify(outcomes));
    for (const o of outcomes) assert.equal(o.generation, 1, JSON.stringify(o));
    const { record: r } = await call("subject-a", { op: "get", id: "g1" });
    assert.equal(r.generation, 1);
    assert.equal(r.rotated_at, now);
    assert.equal(r.revoked, false);
    // The successor rotates on.
    assert.deepEqual(await call("subject-a", rotate("g1", 1, now + 10)), {
      reply: "rotation",
      outcome: { result: "rotated", generation: 2 },
    });
  });

  test("the rotated token after the grace window is reuse: refused, and the grant is revoked", async () => {
    await call("subject-a", { op: "create", record: record("g2", T0) });
    assert.deepEqual((await call("subject-a", rotate("g2", 0, T0 + 200))).outcome, { result: "rotated", generation: 1 });
    assert.deepEqual((await call("subject-a", rotate("g2", 0, T0 + 200 + GRACE))).outcome, {
      result: "replayed",
      generation: 1,
    });
    assert.deepEqual((await call("subject-a", rotate("g2", 0, T0 + 201 + GRACE))).outcome, {
      result: "refused",
      reason: "reused",
    });
    assert.equal((await call("subject-a", { op: "get", id: "g2" })).record.revoked, true);
    // Even the current token is refused now.
    assert.deepEqual((await call("subject-a", rotate("g2", 1, T0 + 202 + GRACE))).outcome, {
      result: "refused",
      reason: "revoked",
    });
    assert.deepEqual((await call("subject-a", rotate("missing", 0, T0))).outcome, {
      result: "refused",
      reason: "unknown",
    });
  });

  test("list (newest first), revoke one, revoke all, forget", async () => {
    await call("subject-a", { op: "create", record: record("g3", T0 + 50) });
    const ids = (await call("subject-a", { op: "list" })).records.map((r) => r.id);
    assert.deepEqual(ids, ["g3", "g1", "g2", "g0"]);
    assert.deepEqual(await call("subject-a", { op: "revoke", id: "g3" }), { reply: "revoked", count: 1 });
    assert.deepEqual(await call("subject-a", { op: "revoke", id: "g3" }), { reply: "revoked", count: 0 });
    // g2 was revoked by reuse, g3 just now: g1 and g0 are left.
    assert.deepEqual(await call("subject-a", { op: "revoke" }), { reply: "revoked", count: 2 });
    const all = (await call("subject-a", { op: "list" })).records;
    assert.ok(all.every((r) => r.revoked), JSON.stringify(all));
    assert.deepEqual(await call("subject-a", { op: "forget", id: "g0" }), { reply: "done" });
    assert.deepEqual(await call("subject-a", { op: "get", id: "g0" }), { reply: "record" });
    assert.deepEqual((await call("subject-a", { op: "list" })).records.map((r) => r.id), ["g3", "g1", "g2"]);
  });

  test("subjects are apart: another subject's object sees nothing", async () => {
    assert.deepEqual(await call("subject-b", { op: "list" }), { reply: "records", records: [] });
    assert.deepEqual(await call("subject-b", { op: "get", id: "g1" }), { reply: "record" });
    assert.deepEqual((await call("subject-b", rotate("g1", 2, T0 + 300))).outcome, {
      result: "refused",
      reason: "unknown",
    });
    assert.deepEqual(await call("subject-b", { op: "revoke" }), { reply: "revoked", count: 0 });
    await call("subject-b", { op: "create", record: record("g1", T0) });
    assert.equal((await call("subject-b", { op: "get", id: "g1" })).record.generation, 0);
    assert.equal((await call("subject-a", { op: "get", id: "g1" })).record.generation, 2);
  });

  test("a body that is not a command is refused with a bad_command error, and the object keeps working", async () => {
    const bad = [
      "",
      "not json",
      "null",
      "[]",
      "{}",
      JSON.stringify({ op: "nope" }),
      JSON.stringify({ op: "get" }),
      JSON.stringify({ op: "rotate", id: "g1", generation: 0 }),
      JSON.stringify({ op: "rotate", id: "g1", generation: -1, now: 1, grace: 1, idle: 1 }),
      JSON.stringify({ op: "create", record: { id: "x" } }),
      '{"op":"list"',
    ];
    for (const body of [...bad, 42]) {
      const { ok, text } = await send("subject-a", body);
      assert.equal(ok, false, `${JSON.stringify(body)} -> ${text}`);
      assert.match(text, /^bad_command: /, `${JSON.stringify(body)} -> ${text}`);
    }
    assert.deepEqual((await call("subject-a", { op: "list" })).records.map((r) => r.id), ["g3", "g1", "g2"]);
    assert.doesNotMatch(log.join(""), /panicked|RuntimeError|unreachable/);
  });

  test("expired device records are swept from SQLite an hour after expiry (device_records_are_swept)", async () => {
    const device = (id, user, at) => ({
      id, user, client_id: "cli", requested_at: at, expires_at: at + 600, interval: 5, state: "pending",
    });
    const poll = (id, now) => call("device:sweep-test", { op: "device_poll", id, client_id: "cli", now });
    const put = (d) => call("device:sweep-test", { op: "device_put", device: d });
    assert.deepEqual(await put(device("dev:a", "ua", T0)), { reply: "done" });
    const decided = await call("device:sweep-test", { op: "device_decide", id: "dev:a", sealed: "sealed-key-text", now: T0 + 10 });
    assert.equal(decided.device.state, "approved");
    const dead = T0 + 600 + 3600;
    await put(device("dev:b", "ub", dead - 1));
    assert.equal((await poll("dev:a", dead - 1)).outcome.result, "expired");
    // The next device command at the deadline deletes it (its sealed key with it).
    await put(device("dev:c", "uc", dead));
    assert.equal((await poll("dev:a", dead)).outcome.result, "unknown");
    assert.notEqual((await poll("dev:b", dead)).outcome.result, "unknown");
  });

  test("the Worker with the binding still answers (and exports the class it binds)", async () => {
    const res = await mf.dispatchFetch(`http://localhost${DISCOVERY}`);
    assert.equal(res.status, 200);
    assert.ok((await res.json()).issuer);
  });

  test("the state survives a restart of the runtime with the same storage", async () => {
    await mf.dispose();
    mf = undefined;
    await start();
    const records = (await call("subject-a", { op: "list" })).records;
    assert.deepEqual(records.map((r) => [r.id, r.generation, r.revoked]), [
      ["g3", 0, true],
      ["g1", 2, true],
      ["g2", 1, true],
    ]);
    assert.equal((await call("subject-b", { op: "list" })).records.length, 1);
  });
});
