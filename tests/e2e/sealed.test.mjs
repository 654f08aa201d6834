// Sealed mode in workerd, with the GRANTS Durable Object: the MCP SDK's
// client connects to the example MCP server (sealed by default) through the
// whole OAuth flow and gets a token only that server opens; the access
// token opens with npm `jose` (not our code) under the resource key Node's
// own HKDF derives as the README documents; refresh rotates atomically in the
// Durable Object (five concurrent refreshes, one lineage), the SDK's own
// refreshAuthorization works, replay after the grace window revokes the
// grant, /revoke, /introspect, /userinfo and the JWKS answer as specified.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { after, before, test } from "node:test";
import * as jose from "jose";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError, refreshAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import { MemoryOAuthClientProvider, approveViaForm, codeFlow, testKey } from "./helpers.mjs";
import { ROOT, devSecret, resourceKey, startMcpExample, startWorker } from "./worker.mjs";

const GRACE = 2;
// Short-lived access tokens, and an MCP server on the provider's clock (no
// leeway), so that a token's expiry is seen within the test.
const TTL = 5;
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
let provider;
let jwtProvider;
let mcp;
let resource;
let key;
before(async () => {
  [provider, jwtProvider] = await Promise.all([
    startWorker({ vars: { TOKEN_MODE: "sealed", REFRESH_GRACE: String(GRACE), ACCESS_TOKEN_TTL: String(TTL) } }),
    startWorker({ vars: { TOKEN_MODE: "sealed", TOKEN_FORMAT: "jwt", DEFAULT_RESOURCE: "https://mcp.example/mcp" } }),
  ]);
  mcp = await startMcpExample({ authorizationServer: provider.base, tokenMode: "sealed", vars: { CLOCK_LEEWAY: "0" } });
  resource = `${mcp.base}/mcp`;
  key = Buffer.from(resourceKey(devSecret(), resource), "base64url");
});
after(async () => {
  await mcp?.stop();
  await provider?.stop();
  await jwtProvider?.stop();
});

const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields),
});

async function tokenRequest(fields) {
  const res = await fetch(`${provider.base}/token`, form(fields));
  return { status: res.status, body: await res.json(), cacheControl: res.headers.get("cache-control") };
}

/** The MCP SDK through OAuth against the example: the connected client,
 *  its auth provider (tokens, client information) and the typed key. */
async function connect(name) {
  const apiKey = testKey("sk-");
  const authProvider = new MemoryOAuthClientProvider({
    redirectUrl: "http://127.0.0.1:6276/oauth/callback",
    clientName: name,
    grantTypes: ["authorization_code", "refresh_token"],
  });
  const serverUrl = new URL(resource);
  const first = new StreamableHTTPClientTransport(serverUrl, { authProvider });
  await assert.rejects(new Client({ name, version: "1" }).connect(first), UnauthorizedError);
  await first.close().catch(() => {});
  const consent = await approveViaForm(provider.base, authProvider.authorizationUrl, apiKey);
  assert.match(consent.html, /goes sealed to the MCP server/, "the consent page says who uses the key");
  await first.finishAuth(consent.code);
  const client = new Client({ name, version: "1" });
  await client.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider }));
  return { client, authProvider, apiKey };
}

function decrypt(token) {
  return jose.jwtDecrypt(token, key, {
    audience: resource,
    typ: "at+jwt",
    clockTolerance: 60,
    keyManagementAlgorithms: ["dir"],
    contentEncryptionAlgorithms: ["A256GCM"],
  });
}

test("the MCP SDK connects through OAuth and the example opens a token sealed for it alone", async () => {
  const { client, authProvider, apiKey } = await connect("e2e sealed");
  const tokens = authProvider.tokens();
  assert.notEqual(tokens.access_token, apiKey, "the client never holds the key");
  assert.ok(!tokens.access_token.includes(apiKey));
  assert.equal(tokens.token_type, "Bearer");
  assert.equal(tokens.expires_in, TTL);
  assert.ok(tokens.refresh_token, "a refresh token with every sealed access token");
  assert.equal(tokens.access_token.split(".").length, 5, "a compact JWE");

  const { payload, protectedHeader } = await decrypt(tokens.access_token);
  assert.deepEqual(
    { alg: protectedHeader.alg, enc: protectedHeader.enc, typ: protectedHeader.typ },
    { alg: "dir", enc: "A256GCM", typ: "at+jwt" },
  );
  assert.equal(payload.api_key, apiKey);
  assert.equal(payload.aud, resource);
  assert.equal(payload.iss, provider.base);
  assert.equal(payload.client_id, authProvider.clientInformation().client_id);
  assert.ok(!payload.sub.includes(apiKey));

  const other = Buffer.from(resourceKey(devSecret(), "http://127.0.0.1:1/mcp"), "base64url");
  await assert.rejects(jose.jwtDecrypt(tokens.access_token, other), "another resource's key opens nothing");

  const call = await client.callTool({ name: "whoami", arguments: {} });
  const text = call.content[0].text;
  assert.match(text, new RegExp(`${apiKey.slice(0, 3)}…${apiKey.slice(-4)}`));
  assert.match(text, /sealed for this server only/);
  assert.ok(!JSON.stringify(call).includes(apiKey));
  await client.close();

  // A plain key (what passthrough clients send) is refused by the sealed server.
  const plain = await fetch(resource, { method: "POST", headers: { authorization: `Bearer ${apiKey}` } });
  await plain.arrayBuffer();
  assert.equal(plain.status, 401);
  assert.match(plain.headers.get("www-authenticate"), /error="invalid_token".*resource_metadata=/);
});

test("`make resource-key` prints the key Node's own HKDF derives", () => {
  const r = spawnSync("make", ["-s", "resource-key", `RESOURCE=${resource}`], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().split("\n").at(-1), resourceKey(devSecret(), resource));
});

test("five concurrent refreshes in workerd all succeed with one lineage; replay after the grace window revokes", async () => {
  const { client, authProvider } = await connect("e2e refresh");
  await client.close();
  const { client_id } = authProvider.clientInformation();
  const first = authProvider.tokens().refresh_token;
  const refresh = (rt) => tokenRequest({ grant_type: "refresh_token", refresh_token: rt, client_id, resource });
  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => refresh(first)));
  for (const a of answers) {
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(a.cacheControl, "no-store");
  }
  const successors = new Set(answers.map((a) => a.body.refresh_token));
  assert.equal(successors.size, 1, "the same successor for all five");
  const [successor] = successors;
  assert.notEqual(successor, first);
  assert.equal((await decrypt(answers[0].body.access_token)).payload.client_id, client_id);

  // The MCP SDK's own refresh, on the successor.
  const metadata = await (await fetch(`${provider.base}/.well-known/oauth-authorization-server`)).json();
  const next = await refreshAuthorization(provider.base, {
    metadata,
    clientInformation: authProvider.clientInformation(),
    refreshToken: successor,
    resource: new URL(resource),
  });
  assert.ok(next.refresh_token && next.refresh_token !== successor);

  // The first token again, after the grace window: the whole grant is revoked.
  await new Promise((r) => setTimeout(r, (GRACE + 1.5) * 1000));
  const replay = await refresh(first);
  assert.deepEqual([replay.status, replay.body.error], [400, "invalid_grant"]);
  const latest = await refresh(next.refresh_token);
  assert.deepEqual([latest.status, latest.body.error], [400, "invalid_grant"], "the lineage dies with the grant");
});

test("a code presented twice in workerd revokes the grant it made (RFC 6749 §4.1.2)", async () => {
  const flow = await codeFlow(provider.base, testKey("sk-"), { params: { resource } });
  const { code, verifier, redirect, clientId, tokens } = flow;
  const again = await tokenRequest({ grant_type: "authorization_code", code, client_id: clientId, redirect_uri: redirect, code_verifier: verifier });
  assert.deepEqual([again.status, again.body.error], [400, "invalid_grant"]);
  const refreshed = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId });
  assert.deepEqual([refreshed.status, refreshed.body.error], [400, "invalid_grant"], "the grant died with the reuse");
  const userinfo = await fetch(`${provider.base}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(userinfo.status, 401);
});

test("revoke, introspect, userinfo and the JWKS", async () => {
  const { client, authProvider } = await connect("e2e revoke");
  await client.close();
  const { client_id } = authProvider.clientInformation();
  const { access_token, refresh_token } = authProvider.tokens();

  const basic = (res, k) => "Basic " + Buffer.from(`${encodeURIComponent(res)}:${k}`).toString("base64");
  const introspect = async (auth) => {
    const res = await fetch(`${provider.base}/introspect`, {
      ...form({ token: access_token }),
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth },
    });
    return { status: res.status, body: await res.json() };
  };
  const good = basic(resource, resourceKey(devSecret(), resource));
  const live = await introspect(good);
  assert.equal(live.status, 200);
  assert.equal(live.body.active, true);
  assert.equal(live.body.client_id, client_id);
  assert.equal(live.body.aud, resource);
  assert.ok(!JSON.stringify(live.body).includes("sk-"), "never the key");
  const wrong = await introspect(basic(resource, resourceKey(devSecret(), "http://127.0.0.1:1/mcp")));
  assert.deepEqual([wrong.status, wrong.body.error], [401, "invalid_client"]);

  const userinfo = await fetch(`${provider.base}/userinfo`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(userinfo.status, 200);
  assert.equal((await userinfo.json()).sub, live.body.sub);
  // RFC 6750 §2.2: the token as a POST's form body; no token is a bare challenge (§3.1).
  const posted = await fetch(`${provider.base}/userinfo`, { method: "POST", body: new URLSearchParams({ access_token }) });
  assert.deepEqual([posted.status, (await posted.json()).sub], [200, live.body.sub]);
  const none = await fetch(`${provider.base}/userinfo`, { method: "POST", body: new URLSearchParams({}) });
  assert.deepEqual([none.status, none.headers.get("www-authenticate"), await none.text()], [401, "Bearer", ""]);

  // Two Authorization header lines (node:http sends an array as separate
  // lines; the runtime combines them): neither credential is used.
  const twoLines = (path, authorization, body) =>
    new Promise((resolve, reject) => {
      const headers = { authorization, ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}) };
      const req = httpRequest(`${provider.base}${path}`, { method: body ? "POST" : "GET", headers }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode, text }));
      });
      req.on("error", reject);
      req.end(body);
    });
  const oneLine = await twoLines("/userinfo", `Bearer ${access_token}`);
  assert.equal(oneLine.status, 200, "the same request with one Authorization line is answered");
  const twoBearers = await twoLines("/userinfo", [`Bearer ${access_token}`, "Bearer other"]);
  assert.equal(twoBearers.status, 400, "two bearer tokens are a malformed request (RFC 6750 §3.1), no bearer token");
  assert.ok(!twoBearers.text.includes(live.body.sub), "no userinfo for a request with two Authorization headers");
  const twoBasics = await twoLines("/introspect", [good, basic(resource, "x")], new URLSearchParams({ token: access_token }).toString());
  assert.equal(twoBasics.status, 401, "two client credentials are no client credentials");
  const oneBasic = await twoLines("/introspect", good, new URLSearchParams({ token: access_token }).toString());
  assert.equal(oneBasic.status, 200, "the same request with one Authorization line is answered");
  assert.ok(!twoBasics.text.includes('"active":true'));

  const jwks = await (await fetch(`${provider.base}/.well-known/jwks.json`)).json();
  assert.equal(jwks.keys[0].alg, "ES256");
  assert.ok(await jose.importJWK(jwks.keys[0], "ES256"));

  const revoked = await fetch(`${provider.base}/revoke`, form({ token: refresh_token, client_id }));
  assert.equal(revoked.status, 200);
  const after = await tokenRequest({ grant_type: "refresh_token", refresh_token, client_id });
  assert.deepEqual([after.status, after.body.error], [400, "invalid_grant"]);
  assert.equal((await introspect(good)).body.active, false);
  const meta = await (await fetch(`${provider.base}/.well-known/oauth-authorization-server`)).json();
  assert.ok(meta.grant_types_supported.includes("refresh_token"));
  for (const k of ["revocation_endpoint", "introspection_endpoint", "jwks_uri", "userinfo_endpoint"]) assert.ok(meta[k], k);
});

test("the access token expires; the SDK refreshes on the 401 and carries on without a new consent; after revoke it cannot", async () => {
  const { client, authProvider, apiKey } = await connect("e2e expiry");
  const consentUrl = authProvider.authorizationUrl;
  const before = authProvider.tokens();
  await sleep(TTL + 1);
  const call = await client.callTool({ name: "whoami", arguments: {} });
  assert.match(call.content[0].text, new RegExp(`…${apiKey.slice(-4)}`));
  const after = authProvider.tokens();
  assert.notEqual(after.access_token, before.access_token, "a fresh access token");
  assert.notEqual(after.refresh_token, before.refresh_token, "the refresh token rotated");
  assert.equal(authProvider.authorizationUrl, consentUrl, "no new consent");

  // Revoke: the refresh token dies at once; the access token at its expiry.
  const { client_id } = authProvider.clientInformation();
  const revoked = await fetch(`${provider.base}/revoke`, form({ token: after.refresh_token, client_id }));
  assert.equal(revoked.status, 200);
  const basic = "Basic " + Buffer.from(`${encodeURIComponent(resource)}:${resourceKey(devSecret(), resource)}`).toString("base64");
  const intro = await fetch(`${provider.base}/introspect`, {
    ...form({ token: after.access_token }),
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: basic },
  });
  assert.deepEqual(await intro.json(), { active: false }, "introspection says inactive at once");
  await sleep(TTL + 1);
  await assert.rejects(client.callTool({ name: "whoami", arguments: {} }), "refused after the token's expiry");
  await client.close().catch(() => {});
});

test("TOKEN_FORMAT=jwt: jose verifies the token against the served JWKS and opens its sealed_api_key", async () => {
  const base = jwtProvider.base;
  const apiKey = testKey("sk-");
  const { tokens, clientId } = await codeFlow(base, apiKey, { clientName: "e2e jwt", params: { scope: "api" } });
  const audience = "https://mcp.example/mcp"; // DEFAULT_RESOURCE: the request sent none
  const jwks = jose.createLocalJWKSet(await (await fetch(`${base}/.well-known/jwks.json`)).json());
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    audience, typ: "at+jwt", algorithms: ["ES256"], issuer: base,
  });
  assert.equal(protectedHeader.alg, "ES256");
  assert.equal(payload.api_key, undefined, "the key is not in the signed claims");
  assert.ok(!tokens.access_token.includes(apiKey));
  const rk = Buffer.from(resourceKey(devSecret(), audience), "base64url");
  const inner = await jose.compactDecrypt(payload.sealed_api_key, rk, {
    keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"],
  });
  assert.equal(inner.protectedHeader.cty, "api-key");
  assert.equal(inner.protectedHeader.jti, payload.jti, "bound to its token");
  assert.equal(new TextDecoder().decode(inner.plaintext), apiKey);
  const refreshed = await fetch(`${base}/token`, form({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId }));
  assert.equal(refreshed.status, 200);
  assert.equal((await refreshed.json()).access_token.split(".").length, 3);
});
