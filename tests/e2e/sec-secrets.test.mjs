// SECRET handling against the real worker in workerd: a missing or short
// SECRET (or SECRET_PREVIOUS) fails closed with 503 `server_error` and a log
// line saying why; rotation with SECRET_PREVIOUS keeps remember cookies,
// open consent forms, signed client ids and codes in flight working, and
// once the previous secret is removed its values are ignored, never a 5xx.
//
// Each configuration needs its own `wrangler dev` (startSecWorker() in tests/e2e/worker.mjs
// passes the secrets in an env file); the rotation steps share one local KV.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { CookieJar, testKey } from "./helpers.mjs";
import { answer, approve, assertPage, authParams, authorizeUrl, consentPage, get, pkce, register, token, tokenBody } from "./sec-lib.mjs";
import { startSecWorker, stateDir } from "./worker.mjs";

const A = "rotation-secret-A-0123456789abcdefghijklmnopqrstuvwxyz";
const B = "rotation-secret-B-zyxwvutsrqponmlkjihgfedcba9876543210";
const workers = [];
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

async function start(opts) {
  const w = await startSecWorker(opts);
  workers.push(w);
  return w;
}

describe("a missing or short SECRET fails closed", () => {
  const configs = [
    ["SECRET missing", {}],
    ["SECRET of 31 bytes", { SECRET: "x".repeat(31) }],
    ["SECRET_PREVIOUS too short", { SECRET: A, SECRET_PREVIOUS: "short" }],
  ];
  for (const [what, vars] of configs) {
    test(`${what}: every route answers 503 server_error, and the log says why`, async () => {
      const w = await start({ vars });
      const { challenge } = pkce();
      const requests = [
        ["GET", "/.well-known/oauth-authorization-server"],
        ["GET", authorizeUrl(w.base, authParams({ challenge })).pathname + authorizeUrl(w.base, authParams({ challenge })).search],
        ["POST", "/authorize", "request=x&csrf=y&api_key=k&action=approve"],
        ["POST", "/token", tokenBody({ code: "A".repeat(43), verifier: "v".repeat(43) })],
        ["POST", "/register", JSON.stringify({ redirect_uris: ["https://yourapp.com/callback"] })],
        ["GET", "/anything-else"],
      ];
      for (const [method, path, body] of requests) {
        const res = await fetch(new URL(path, w.base), {
          method,
          body,
          redirect: "manual",
          headers: body ? { "content-type": path === "/register" ? "application/json" : "application/x-www-form-urlencoded" } : {},
        });
        const text = await res.text();
        assert.equal(res.status, 503, `${what}: ${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
        assert.equal(JSON.parse(text).error, "server_error", `${method} ${path}`);
        assert.match(JSON.parse(text).error_description, /SECRET/);
        assert.match(res.headers.get("content-type") || "", /^application\/json/);
        assert.equal(res.headers.get("cache-control"), "no-store");
        assert.equal(res.headers.get("location"), null);
        assert.equal(res.headers.get("set-cookie"), null);
      }
      // workerd flushes console output asynchronously.
      for (let i = 0; i < 40 && !/SECRET is missing or shorter than 32 bytes/.test(w.logs()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(w.logs(), /SECRET is missing or shorter than 32 bytes/, "the server log says why");
      await w.stop();
    });
  }
});

describe("rotation with SECRET_PREVIOUS", () => {
  test("old cookies, forms, client ids and codes keep working while SECRET_PREVIOUS is set, and are ignored after", async () => {
    const kv = stateDir();
    const key = testKey("rot");
    const named = { redirect_uris: ["https://a.example/cb"], client_name: "Rotating" };
    // One issuer across the restarts, as a deployment keeps its own through
    // a rotation (each restart listens on another port, and a code is only
    // redeemed at the issuer that approved it).
    const ISSUER = "https://oauth.example";

    // 1. SECRET = A.
    let w = await start({ vars: { SECRET: A, ISSUER }, persist: kv });
    const reg = await register(w.base, named);
    assert.equal(reg.res.status, 201);
    const oldClient = JSON.parse(reg.text).client_id;
    assert.match(oldClient, /^pc1\./);
    const jar = new CookieJar();
    const flow = pkce();
    const params = authParams({ client_id: oldClient, redirect_uri: "https://a.example/cb", challenge: flow.challenge });
    await approve(w.base, params, key, { jar, extra: { remember: "1" } });
    assert.ok(jar.cookies.has("__Host-parallel-oauth-key"));
    const pending = pkce();
    const { code: pendingCode } = await approve(w.base, authParams({ challenge: pending.challenge }), key, { jar });
    const formForRotated = await consentPage(w.base, params, jar);
    const formForDropped = await consentPage(w.base, authParams({}), jar);
    assert.equal(formForRotated.res.status, 200);
    await w.stop();

    // 2. SECRET = B, SECRET_PREVIOUS = A: everything made under A still works.
    w = await start({ vars: { SECRET: B, SECRET_PREVIOUS: A, ISSUER }, persist: kv });
    const page = await consentPage(w.base, params, jar);
    assert.equal(page.res.status, 200, `client id signed under A: ${page.text.slice(0, 300)}`);
    assert.ok(page.text.includes("key_choice_saved"), "remember cookie sealed under A");
    const r = await answer(w.base, formForRotated, { key_choice: "saved", action: "approve" }, jar);
    assert.equal(r.res.status, 303, `consent form sealed under A: ${r.text.slice(0, 300)}`);
    const code = new URL(r.res.headers.get("location")).searchParams.get("code");
    const t = await token(w.base, tokenBody({ code, client_id: oldClient, redirect_uri: "https://a.example/cb", verifier: flow.verifier }));
    assert.equal(JSON.parse(t.text).access_token, key);
    const t2 = await token(w.base, tokenBody({ code: pendingCode, verifier: pending.verifier }));
    assert.equal(t2.res.status, 200, `a code issued before the rotation: ${t2.text}`);
    assert.equal(JSON.parse(t2.text).access_token, key);
    const newClient = JSON.parse((await register(w.base, named)).text).client_id;
    assert.notEqual(newClient, oldClient, "new registrations are signed with B");
    await w.stop();

    // 3. SECRET = B only: A's values are not ours any more, and nothing fails.
    w = await start({ vars: { SECRET: B, ISSUER }, persist: kv });
    assertPage(await get(authorizeUrl(w.base, params)), 400, "client id signed under A");
    const fresh = await get(authorizeUrl(w.base, authParams({ client_id: newClient, redirect_uri: "https://a.example/cb" })));
    assert.equal(fresh.res.status, 200, "client id signed under B");
    const host = await consentPage(w.base, authParams({}), jar);
    assert.equal(host.res.status, 200);
    assert.ok(!host.text.includes("key_choice_saved"), "remember cookie sealed under A is ignored");
    const stale = await answer(w.base, formForDropped, { api_key: key, action: "approve" }, jar);
    assertPage(stale, 403, "consent form sealed under A");
    await w.stop();
  });
});
