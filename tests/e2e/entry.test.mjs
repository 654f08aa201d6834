// The Worker's own `fetch` export (src/workers/entry.rs) in plain workerd
// (Miniflare, as `make bench` runs it), for what wrangler's config cannot
// set up: a Worker deployed without its KV binding. A provider route then
// fails at the runtime, and the answer is still an RFC-shaped JSON error,
// with the reason in the log and not in the body; routes that need no
// provider keep working. And one deployed without its GRANTS binding: a
// passthrough-only deployment that works quietly and advertises no grant
// that needs the store.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { codeFlow, testKey } from "./helpers.mjs";
import { BUILT_WORKER, DISCOVERY, ROOT } from "./worker.mjs";

/** Our built Worker in plain workerd with `options` (bindings, KV); its base URL and its log so far. */
async function startEntry({ bindings, ...options }) {
  const out = { log: "" };
  out.mf = new Miniflare({
    ...BUILT_WORKER,
    compatibilityDate: "2026-04-20",
    bindings: { SECRET: "entry-test-secret-0123456789abcdefghijklmnop", DEV: "1", ...bindings },
    host: "127.0.0.1",
    port: 0,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (chunk) => (out.log += chunk));
    },
    ...options,
  });
  out.base = (await out.mf.ready).toString().replace(/\/$/, "");
  return out;
}

describe("the Worker deployed without its KV binding", () => {
  let w;
  before(async () => {
    w = await startEntry({ bindings: {} });
  });
  after(() => w?.mf.dispose());

  test("provider routes answer 500 server_error as JSON, the log says why, the body does not", async () => {
    const requests = [
      ["GET", DISCOVERY],
      ["POST", "/register", JSON.stringify({ redirect_uris: ["https://a.example/cb"] }), "application/json"],
      ["POST", "/token", "grant_type=authorization_code&code=x", "application/x-www-form-urlencoded"],
    ];
    for (const [method, path, body, type] of requests) {
      const res = await fetch(w.base + path, { method, body, headers: type ? { "content-type": type } : {} });
      const text = await res.text();
      assert.equal(res.status, 500, `${method} ${path}: ${text}`);
      assert.match(res.headers.get("content-type") || "", /^application\/json/);
      assert.equal(res.headers.get("cache-control"), "no-store");
      const json = JSON.parse(text);
      assert.equal(json.error, "server_error");
      assert.doesNotMatch(text, /KV|binding|RustError|panicked|at \w+/, "no internals in the body");
    }
    // workerd flushes console output asynchronously.
    for (let i = 0; i < 40 && !/KV/.test(w.log); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(w.log, /KV/, "the log names the missing binding");
    if (process.env.E2E_VERBOSE) console.log(w.log);
  });

  test("routes the provider does not own still answer (they needed the KV binding before)", async () => {
    const noop = await fetch(`${w.base}/__noop`);
    assert.equal(noop.status, 200);
    assert.equal(await noop.text(), "ok");
    const root = await fetch(`${w.base}/`, { redirect: "manual" });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "/demo/");
    await root.text();
    const other = await fetch(`${w.base}/nothing-here`);
    assert.equal(other.status, 404);
    assert.equal((await other.json()).error, "not_found");
  });
});

describe("the Worker deployed without its GRANTS binding (passthrough only)", () => {
  let w;
  before(async () => {
    w = await startEntry({ bindings: {}, kvNamespaces: ["KV"] });
  });
  after(() => w?.mf.dispose());

  test("unbound_grants_store_is_not_called_or_logged_per_exchange: passthrough works, quietly, and the metadata offers no device grant", async () => {
    const meta = await (await fetch(`${w.base}${DISCOVERY}`)).json();
    assert.ok(!meta.grant_types_supported.includes("urn:ietf:params:oauth:grant-type:device_code"), JSON.stringify(meta));
    assert.equal(meta.device_authorization_endpoint, undefined);
    const apiKey = testKey("sk-");
    for (let i = 0; i < 3; i++) {
      const { tokens } = await codeFlow(w.base, apiKey);
      assert.equal(tokens.access_token, apiKey);
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(w.log, /grant store|GRANTS/, "no log line per exchange about the missing binding");
  });
});

describe("a request URL outside what the provider reads (src/protocol/url.rs)", () => {
  let w;
  before(async () => {
    w = await startEntry({ bindings: {}, kvNamespaces: ["KV"] });
  });
  after(() => w?.mf.dispose());

  test("request_url_the_provider_cannot_read_is_a_400_not_a_500: a host the runtime accepts but the provider refuses", async () => {
    // `.foo.bar` (a leading dot) is a host the runtime hands the Worker as
    // it is, and one the provider's URL parser refuses.
    for (const url of [`http://.foo.bar${DISCOVERY}`, "http://.foo.bar/authorize?client_id=x"]) {
      const r = await w.mf.dispatchFetch(url);
      assert.equal(r.status, 400, url);
      const body = await r.json();
      assert.equal(body.error, "invalid_request");
      assert.match(body.error_description, /request URL/);
    }
    // The same route on a host it reads still answers.
    assert.equal((await w.mf.dispatchFetch(`http://foo.bar${DISCOVERY}`)).status, 200);
  });
});
