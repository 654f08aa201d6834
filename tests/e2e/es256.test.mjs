// ES256 on Workers is the runtime's node:crypto (src/workers/p256.rs), not
// curve code in the WASM. In workerd, with the project's wrangler.toml
// (nodejs_compat): the provider signs JWT access tokens, the example MCP
// server (a second Worker, another isolate) verifies them against the
// served JWKS, /introspect verifies them, and anything re-signed, tampered
// or signed by another key is refused. Without nodejs_compat (plain
// workerd through Miniflare): TOKEN_FORMAT=jwt is refused at start with an
// RFC-shaped 503 whose reason is in the log, and JWE still works.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as jose from "jose";
import { Miniflare } from "miniflare";
import { codeFlow, testKey } from "./helpers.mjs";
import { BUILT_WORKER, DISCOVERY, ROOT, devSecret, resourceKey, startMcpExample, startWorker } from "./worker.mjs";

const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields),
});

/** tools/call whoami at the example with `token`: [status, body text]. */
async function whoami(mcpBase, token) {
  const res = await fetch(`${mcpBase}/mcp`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami" } }),
  });
  return [res.status, await res.text()];
}

describe("ES256 through the runtime's node:crypto (nodejs_compat)", () => {
  let provider;
  let mcp;
  let resource;
  before(async () => {
    provider = await startWorker({ vars: { TOKEN_MODE: "sealed", TOKEN_FORMAT: "jwt" } });
    mcp = await startMcpExample({ authorizationServer: provider.base, tokenMode: "sealed" });
    resource = `${mcp.base}/mcp`;
  });
  after(async () => {
    await mcp?.stop();
    await provider?.stop();
  });

  test("the example MCP server verifies the provider's JWT against its JWKS; tampered and foreign tokens are refused", async () => {
    const apiKey = testKey("sk-");
    const token = (await codeFlow(provider.base, apiKey, { clientName: "e2e es256", params: { resource } })).tokens.access_token;
    const jwks = await (await fetch(`${provider.base}/.well-known/jwks.json`)).json();
    assert.equal(jwks.keys.length, 1);
    assert.deepEqual(Object.keys(jwks.keys[0]).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    // Its kid is the RFC 7638 thumbprint of the served key, computed here by jose.
    assert.equal(await jose.calculateJwkThumbprint(jwks.keys[0]), jwks.keys[0].kid);
    const verified = await jose.jwtVerify(token, jose.createLocalJWKSet(jwks), { audience: resource, algorithms: ["ES256"] });
    assert.equal(verified.protectedHeader.kid, jwks.keys[0].kid);

    const [status, body] = await whoami(mcp.base, token);
    assert.equal(status, 200, body);
    assert.match(body, /sealed for this server only/);
    assert.ok(!body.includes(apiKey), "the key is masked");

    // One bit of the signature flipped: refused by the example.
    const [h, p, s] = token.split(".");
    const sig = Buffer.from(s, "base64url");
    sig[10] ^= 1;
    const [tamperedStatus] = await whoami(mcp.base, `${h}.${p}.${sig.toString("base64url")}`);
    assert.equal(tamperedStatus, 401);

    // Signatures no verifier may accept: r = s = 0, and r, s = n (the group order, out of range).
    const n = Buffer.from("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", "hex");
    for (const bad of [Buffer.alloc(64), Buffer.concat([n, n]), Buffer.concat([sig.subarray(0, 32), n])]) {
      const [badStatus] = await whoami(mcp.base, `${h}.${p}.${bad.toString("base64url")}`);
      assert.equal(badStatus, 401, `signature ${bad.toString("hex").slice(0, 16)}… accepted`);
    }

    // The same claims and header (kid included), signed by another P-256 key.
    const { privateKey } = await jose.generateKeyPair("ES256");
    const forged = await new jose.CompactSign(Buffer.from(p, "base64url"))
      .setProtectedHeader(JSON.parse(Buffer.from(h, "base64url").toString()))
      .sign(privateKey);
    const [forgedStatus] = await whoami(mcp.base, forged);
    assert.equal(forgedStatus, 401);

    // The provider's /introspect verifies it too, and not the forgery.
    const basic = "Basic " + Buffer.from(`${encodeURIComponent(resource)}:${resourceKey(devSecret(), resource)}`).toString("base64");
    const introspect = async (t) =>
      (await fetch(`${provider.base}/introspect`, { ...form({ token: t }), headers: { ...form({}).headers, authorization: basic } })).json();
    const live = await introspect(token);
    assert.equal(live.active, true, JSON.stringify(live));
    assert.equal(live.aud, resource);
    assert.equal((await introspect(forged)).active, false);
  });
});

describe("ES256 without nodejs_compat (plain workerd)", () => {
  const start = async (vars) => {
    let log = "";
    const mf = new Miniflare({
      ...BUILT_WORKER,
      compatibilityDate: "2026-04-20",
      kvNamespaces: ["KV"],
      durableObjects: { GRANTS: { className: "Grants", useSQLite: true } },
      bindings: { SECRET: "es256-test-secret-0123456789abcdefghijklmnop", DEV: "1", TOKEN_MODE: "sealed", ...vars },
      host: "127.0.0.1",
      port: 0,
      handleRuntimeStdio(stdout, stderr) {
        for (const s of [stdout, stderr]) s.on("data", (chunk) => (log += chunk));
      },
    });
    const base = (await mf.ready).toString().replace(/\/$/, "");
    return { mf, base, log: () => log };
  };
  let jwt;
  let jwe;
  before(async () => {
    [jwt, jwe] = await Promise.all([start({ TOKEN_FORMAT: "jwt" }), start({})]);
  });
  after(async () => {
    await jwt?.mf.dispose();
    await jwe?.mf.dispose();
  });

  test("TOKEN_FORMAT=jwt is refused at start with a 503 and the log names nodejs_compat", async () => {
    const res = await fetch(`${jwt.base}${DISCOVERY}`);
    const text = await res.text();
    assert.equal(res.status, 503, text);
    assert.equal(JSON.parse(text).error, "server_error");
    assert.doesNotMatch(text, /nodejs_compat|RustError|panicked/, "the reason is for the log, not the body");
    for (let i = 0; i < 40 && !/nodejs_compat/.test(jwt.log()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(jwt.log(), /TOKEN_FORMAT.*nodejs_compat/);
  });

  test("TOKEN_FORMAT=jwe needs no node:crypto: metadata answers and the JWKS is empty", async () => {
    const meta = await fetch(`${jwe.base}${DISCOVERY}`);
    assert.equal(meta.status, 200);
    const jwks = await fetch(`${jwe.base}/.well-known/jwks.json`);
    assert.equal(jwks.status, 200);
    assert.deepEqual(await jwks.json(), { keys: [] });
  });
});
