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
    // The entry passes bodies as text (src/workers/shim.mjs): one the provider gave no type gets none.
    assert.equal(noop.headers.get("content-type"), null, "no text/plain added");
    const root = await fetch(`${w.base}/`, { redirect: "manual" });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get("location"), "/demo/");
    await root.text();
    const other = await fetch(`${w.base}/nothing-here`);
    assert.equal(other.status, 404);
    assert.equal((await other.json()).error, "not_found");
    const page = await fetch(`${w.base}/nothing-here`, { headers: { accept: "text/html" } });
    assert.equal(page.status, 404);
    assert.match(await page.text(), /Page not found/, "a browser gets a page");
    const slash = await fetch(`${w.base}/device/?user_code=BCDF-GHJK`, { redirect: "manual" });
    assert.equal(slash.status, 308);
    assert.equal(slash.headers.get("location"), "/device?user_code=BCDF-GHJK");
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

describe("the entry after a critical error (src/workers/shim.mjs)", () => {
  // The shim takes worker-build's Proxy'd `fetch` (and GrantsSql's `run`) once
  // per isolate instead of constructing the entry per request; what those
  // Proxies do on each call must still happen: rebuild the WASM instance once
  // the panic hook (src/workers/init.rs) has marked `criticalError`. A test
  // entry in front of ours marks it, as a panic would.
  const worker = join(ROOT, "build", "worker");
  const CRITICAL = "/__test/mark-critical";
  let w;
  before(async () => {
    w = await startEntry({
      modules: [
        {
          type: "ESModule",
          path: join(worker, "critical-test.mjs"),
          contents: `import shim from "./shim.mjs";
export { Grants } from "./shim.mjs";
export default {
  fetch(request, env, ctx) {
    if (new URL(request.url).pathname !== ${JSON.stringify(CRITICAL)}) return shim.fetch(request, env, ctx);
    globalThis.__worker_init_state.criticalError = true;
    return new Response("marked");
  },
};`,
        },
        { type: "ESModule", path: join(worker, "shim.mjs") },
        { type: "ESModule", path: join(ROOT, "build", "index.js") },
        { type: "CompiledWasm", path: join(ROOT, "build", "index_bg.wasm") },
      ],
      scriptPath: undefined,
      modulesRules: undefined,
      bindings: { TOKEN_MODE: "sealed" },
      kvNamespaces: ["KV"],
      durableObjects: { GRANTS: { className: "Grants", useSQLite: true } },
    });
  });
  after(() => w?.mf.dispose());

  const refresh = async (token, clientId) => {
    const res = await fetch(`${w.base}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: token, client_id: clientId }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.refresh_token;
  };

  test("cached_entry_still_rebuilds_the_wasm_after_a_panic: requests and grant commands answer on the new instance", async () => {
    const { tokens, clientId } = await codeFlow(w.base, testKey("sk-"), { params: { resource: "https://mcp.example/mcp" } });
    let token = await refresh(tokens.refresh_token, clientId);
    for (let round = 1; round <= 2; round++) {
      assert.equal(await (await fetch(w.base + CRITICAL)).text(), "marked");
      const meta = await fetch(w.base + DISCOVERY);
      assert.equal(meta.status, 200);
      await meta.arrayBuffer();
      // workerd flushes console output asynchronously.
      const rebuilt = () => w.log.split("Reinitializing Wasm application").length - 1;
      for (let i = 0; i < 40 && rebuilt() < round; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(rebuilt(), round, `rebuilt once per marked error\n${w.log}`);
      // The grants object's GrantsSql, made on the old instance, is made again on the new one.
      token = await refresh(token, clientId);
    }
  });
});

describe("passthrough records with a Durable Object that answers (src/workers/grants.rs)", () => {
  let w;
  before(async () => {
    w = await startEntry({
      bindings: {},
      kvNamespaces: ["KV"],
      durableObjects: { GRANTS: { className: "Grants", useSQLite: true } },
    });
  });
  after(() => w?.mf.dispose());

  test("answered_record_is_never_logged_as_overdue: a later exchange past the timeout logs nothing", { timeout: 30_000 }, async () => {
    const apiKey = testKey("sk-");
    assert.equal((await codeFlow(w.base, apiKey)).tokens.access_token, apiKey);
    // Past the 5 s after which a call still pending would be logged by the next one.
    await new Promise((r) => setTimeout(r, 5_200));
    assert.equal((await codeFlow(w.base, apiKey)).tokens.access_token, apiKey);
    await new Promise((r) => setTimeout(r, 500));
    assert.doesNotMatch(w.log, /grant store failed|no answer within/, w.log);
  });
});
