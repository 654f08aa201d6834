// Protocol checks through the real worker in workerd (the Workers adapter:
// headers, multiple Set-Cookie, KV, static assets), for what real clients
// rely on (see CLIENTS.md). The Rust integration tests cover the core in
// depth; these make sure it survives the trip through workerd.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CookieJar, approveViaForm, parseConsentForm, testKey } from "./helpers.mjs";
import { startWorker } from "./worker.mjs";

let worker, base, meta;
before(async () => {
  worker = await startWorker();
  base = worker.base;
  meta = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
});
after(async () => {
  await worker?.stop();
});

async function pkce() {
  const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return { verifier, challenge };
}

async function register(body) {
  const res = await fetch(`${base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: "http://localhost:6274" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { res, text, json: (() => { try { return JSON.parse(text); } catch { return null; } })() };
}

function authorizeUrl(params) {
  const u = new URL(`${base}/authorize`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u;
}

function token(params, headers = {}) {
  return fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined)),
  });
}

describe("discovery", () => {
  test("RFC 8414 metadata as MCP clients need it", async () => {
    const res = await fetch(`${base}/.well-known/oauth-authorization-server`, { headers: { origin: "http://localhost:6274" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") || "", /application\/json/);
    assert.equal(res.headers.get("access-control-allow-origin"), "http://localhost:6274");
    assert.notEqual(res.headers.get("access-control-allow-credentials"), "true");
    const m = await res.json();
    assert.equal(m.issuer, base, "ISSUER empty: derived from the request origin, no trailing slash");
    assert.equal(m.authorization_endpoint, `${base}/authorize`);
    assert.equal(m.token_endpoint, `${base}/token`);
    assert.equal(m.registration_endpoint, `${base}/register`);
    assert.deepEqual(m.response_types_supported, ["code"]);
    assert.ok(m.code_challenge_methods_supported.includes("S256"));
    assert.ok(m.token_endpoint_auth_methods_supported.includes("none"));
    assert.equal(m.authorization_response_iss_parameter_supported, true);
    for (const [k, v] of Object.entries(m)) assert.notEqual(v, null, `metadata field ${k} is null`);
  });

  test("unserved well-known documents are 404, never HTML 200 or 5xx", async () => {
    const oidc = await fetch(`${base}/.well-known/openid-configuration`);
    await oidc.arrayBuffer();
    assert.equal(oidc.status, 404, "/.well-known/openid-configuration");
    const other = await fetch(`${base}/.well-known/not-a-thing`);
    await other.arrayBuffer();
    assert.equal(other.status, 404, "/.well-known/not-a-thing");
  });

  test("CORS preflight on /token, /register and discovery", async () => {
    for (const path of ["/token", "/register", "/.well-known/oauth-authorization-server"]) {
      const res = await fetch(base + path, {
        method: "OPTIONS",
        headers: {
          origin: "http://localhost:6274",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type, mcp-protocol-version",
        },
      });
      await res.arrayBuffer();
      assert.equal(res.status, 204, `OPTIONS ${path}`);
      assert.equal(res.headers.get("access-control-allow-origin"), "http://localhost:6274", `OPTIONS ${path}`);
      assert.match(res.headers.get("access-control-allow-methods") || "", /POST/);
      assert.match((res.headers.get("access-control-allow-headers") || "").toLowerCase(), /content-type/);
      assert.match((res.headers.get("access-control-allow-headers") || "").toLowerCase(), /mcp-protocol-version/);
      assert.notEqual(res.headers.get("access-control-allow-credentials"), "true");
    }
  });

  test("static assets are served under the assets prefix", async () => {
    const res = await fetch(`${base}/assets/oauth/consent.css`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") || "", /text\/css/);
  });
});

describe("registration (RFC 7591)", () => {
  test("Claude asks for client_secret_post: 201, answered with none", async () => {
    const { res, json, text } = await register({
      client_name: "Claude",
      redirect_uris: ["https://claude.ai/api/mcp/auth_callback"],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_post",
      scope: "claudeai",
    });
    assert.equal(res.status, 201, text);
    assert.ok(json.client_id);
    assert.equal(json.token_endpoint_auth_method, "none");
    assert.ok(Number.isInteger(json.client_id_issued_at));
    for (const [k, v] of Object.entries(json)) assert.notEqual(v, null, `field ${k} is null`);
    assert.equal(res.headers.get("access-control-allow-origin"), "http://localhost:6274");
  });

  test("Cursor registers three redirect URIs (private-use scheme, https, loopback)", async () => {
    const { res, text, json } = await register({
      client_name: "Cursor",
      redirect_uris: [
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "https://www.cursor.com/agents/mcp/oauth/callback",
        "http://localhost:8787/callback",
      ],
      token_endpoint_auth_method: "none",
      application_type: "native",
    });
    assert.equal(res.status, 201, text);
    assert.equal(json.redirect_uris.length, 3);
  });

  test("dangerous redirect URIs are refused with a JSON error", async () => {
    for (const uri of ["javascript:alert(1)", "http://evil.example/cb", "https://user@evil.example/cb", "https://a.example/cb#frag"]) {
      const { res, json, text } = await register({ redirect_uris: [uri] });
      assert.equal(res.status, 400, `${uri}: ${res.status} ${text}`);
      assert.match(json?.error || "", /invalid_redirect_uri|invalid_client_metadata/, `${uri}: ${text}`);
    }
  });

  test("malformed JSON is a 400, not a 500", async () => {
    const res = await fetch(`${base}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    const text = await res.text();
    assert.equal(res.status, 400, text);
  });

  test("a gzip-compressed registration is 415 with Accept-Encoding: identity, not read as plain JSON", async () => {
    const { gzipSync } = await import("node:zlib");
    const body = gzipSync(JSON.stringify({ redirect_uris: ["http://localhost:6274/oauth/callback"] }));
    const res = await fetch(`${base}/register`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body,
    });
    const json = await res.json();
    assert.equal(res.status, 415, JSON.stringify(json));
    assert.equal(json.error, "invalid_request");
    assert.equal(res.headers.get("accept-encoding"), "identity");
  });
});

describe("authorization and token", () => {
  const redirect = "http://127.0.0.1:33418/callback";
  let clientId;
  before(async () => {
    const { json } = await register({ redirect_uris: [redirect], client_name: "e2e http", token_endpoint_auth_method: "none" });
    clientId = json.client_id;
  });

  test("/authorize without parameters: an error page, no redirect, no CORS", async () => {
    const res = await fetch(`${base}/authorize`, { redirect: "manual", headers: { origin: "http://localhost:6274" } });
    const html = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `-> ${res.status}`);
    assert.equal(res.headers.get("location"), null);
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    assert.match(res.headers.get("content-type") || "", /text\/html/);
    assert.ok(html.length > 0);
  });

  test("/authorize with an unregistered redirect_uri: error page, never a redirect to it", async () => {
    const { challenge } = await pkce();
    const res = await fetch(
      authorizeUrl({ client_id: clientId, redirect_uri: "https://evil.example/cb", response_type: "code", code_challenge: challenge, code_challenge_method: "S256", state: "s" }),
      { redirect: "manual" },
    );
    await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `-> ${res.status}`);
    assert.equal(res.headers.get("location"), null);
  });

  test("/authorize without PKCE after the client is validated: error redirect with state and iss", async () => {
    const res = await fetch(authorizeUrl({ client_id: clientId, redirect_uri: redirect, response_type: "code", state: "st" }), { redirect: "manual" });
    await res.text();
    assert.ok([302, 303].includes(res.status), `-> ${res.status}`);
    const loc = new URL(res.headers.get("location"));
    assert.equal(loc.origin + loc.pathname, redirect);
    assert.equal(loc.searchParams.get("error"), "invalid_request");
    assert.equal(loc.searchParams.get("state"), "st");
    assert.equal(loc.searchParams.get("iss"), meta.issuer);
  });

  test("consent page headers and the forged-form defences", async () => {
    const { challenge } = await pkce();
    const url = authorizeUrl({ client_id: clientId, redirect_uri: redirect, response_type: "code", code_challenge: challenge, code_challenge_method: "S256", state: "x" });
    const jar = new CookieJar();
    const page = await fetch(url, { redirect: "manual" });
    const html = await page.text();
    assert.equal(page.status, 200, html.slice(0, 500));
    jar.store(page);
    assert.match(page.headers.get("content-security-policy") || "", /frame-ancestors 'none'/);
    assert.doesNotMatch(page.headers.get("content-security-policy") || "", /unsafe-inline|unsafe-eval/);
    assert.equal((page.headers.get("x-frame-options") || "").toUpperCase(), "DENY");
    assert.match(page.headers.get("cache-control") || "", /no-store/);
    for (const c of page.headers.getSetCookie()) {
      assert.match(c, /;\s*Secure/i, `cookie without Secure: ${c}`);
      assert.match(c, /;\s*HttpOnly/i, `cookie without HttpOnly: ${c}`);
    }
    const form = parseConsentForm(html);
    const action = new URL(form.action || url, url);
    const post = (body, headers) =>
      fetch(action, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(body) });

    const cases = [
      ["cross-site Origin", { ...form.hidden, api_key: "k", action: "approve" }, { origin: "https://evil.example", ...jar.headers() }],
      ["wrong csrf", { ...form.hidden, csrf: "AAAA" + form.hidden.csrf.slice(4).split("").reverse().join(""), api_key: "k", action: "approve" }, { origin: base, ...jar.headers() }],
      ["no cookies", { ...form.hidden, api_key: "k", action: "approve" }, { origin: base }],
      ["tampered request", { ...form.hidden, request: form.hidden.request.slice(0, -4) + "AAAA", api_key: "k", action: "approve" }, { origin: base, ...jar.headers() }],
    ];
    for (const [name, body, headers] of cases) {
      const res = await post(body, headers);
      const text = await res.text();
      assert.ok(res.status >= 400 && res.status < 500, `${name}: ${res.status} ${text.slice(0, 300)}`);
      assert.equal(res.headers.get("location"), null, `${name} must not redirect`);
    }
  });

  test("deny: 303 to the client with access_denied, state and iss", async () => {
    const { challenge } = await pkce();
    const url = authorizeUrl({ client_id: clientId, redirect_uri: redirect, response_type: "code", code_challenge: challenge, code_challenge_method: "S256", state: "deny-state" });
    const jar = new CookieJar();
    const page = await fetch(url, { redirect: "manual" });
    const html = await page.text();
    jar.store(page);
    const form = parseConsentForm(html);
    const res = await fetch(new URL(form.action || url, url), {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base, ...jar.headers() },
      body: new URLSearchParams({ ...form.hidden, action: "deny" }),
    });
    await res.text();
    assert.equal(res.status, 303);
    const loc = new URL(res.headers.get("location"));
    assert.equal(loc.searchParams.get("error"), "access_denied");
    assert.equal(loc.searchParams.get("state"), "deny-state");
    assert.equal(loc.searchParams.get("iss"), meta.issuer);
    assert.equal(loc.searchParams.get("code"), null);
  });

  test("token: wrong verifier, wrong redirect_uri, unknown grant, bad client -> RFC 6749 JSON errors; code stays single use", async () => {
    const key = testKey("http");
    const { verifier, challenge } = await pkce();
    const resource = "https://mcp.example.com/mcp";
    const url = authorizeUrl({ client_id: clientId, redirect_uri: redirect, response_type: "code", code_challenge: challenge, code_challenge_method: "S256", state: "t", scope: "api", resource });
    const { code } = await approveViaForm(base, url, key);
    const good = { grant_type: "authorization_code", code, client_id: clientId, redirect_uri: redirect, code_verifier: verifier, resource };

    const expectError = async (params, status, error, headers) => {
      const res = await token(params, headers);
      const text = await res.text();
      assert.equal(res.status, status, `${JSON.stringify(params)} -> ${res.status} ${text}`);
      assert.match(res.headers.get("content-type") || "", /application\/json/);
      assert.match(res.headers.get("cache-control") || "", /no-store/);
      assert.equal(JSON.parse(text).error, error, text);
    };
    await expectError({ ...good, grant_type: "password" }, 400, "unsupported_grant_type");
    await expectError({ ...good, code: undefined }, 400, "invalid_request");

    // A wrong verifier burns the code (or leaves it); either way it must not yield a token.
    const wrong = await token({ ...good, code_verifier: verifier.slice(0, -2) + "xx" });
    const wrongText = await wrong.text();
    assert.equal(wrong.status, 400, wrongText);
    assert.equal(JSON.parse(wrongText).error, "invalid_grant");

    const res = await token(good, { origin: "http://localhost:6274" });
    const text = await res.text();
    if (res.status === 200) {
      // The server let the code survive a failed verifier: it must still work exactly once.
      const body = JSON.parse(text);
      assert.equal(body.access_token, key);
      assert.equal(res.headers.get("access-control-allow-origin"), "http://localhost:6274");
      await expectError(good, 400, "invalid_grant");
    } else {
      assert.equal(res.status, 400, text);
      assert.equal(JSON.parse(text).error, "invalid_grant");
    }
  });

  test("token: client_secret_post from a client told 'none' is tolerated", async () => {
    const key = testKey("sec");
    const { verifier, challenge } = await pkce();
    const resource = "https://mcp.example.com/mcp";
    const url = authorizeUrl({ client_id: clientId, redirect_uri: redirect, response_type: "code", code_challenge: challenge, code_challenge_method: "S256", state: "t2", resource });
    const { code } = await approveViaForm(base, url, key);
    const res = await token({ grant_type: "authorization_code", code, client_id: clientId, client_secret: "whatever", redirect_uri: redirect, code_verifier: verifier, resource });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const body = JSON.parse(text);
    assert.equal(body.access_token, key);
    assert.match(String(body.token_type), /^bearer$/i);
    assert.match(res.headers.get("cache-control") || "", /no-store/);
  });

  test("wrong redirect_uri at the token endpoint is invalid_grant", async () => {
    const { verifier, challenge } = await pkce();
    const url = authorizeUrl({ client_id: clientId, redirect_uri: redirect, response_type: "code", code_challenge: challenge, code_challenge_method: "S256", state: "t3" });
    const { code } = await approveViaForm(base, url, testKey("ru"));
    const res = await token({ grant_type: "authorization_code", code, client_id: clientId, redirect_uri: "http://127.0.0.1:9/other", code_verifier: verifier });
    const text = await res.text();
    assert.equal(res.status, 400, text);
    assert.equal(JSON.parse(text).error, "invalid_grant");
  });
});

describe("control characters in what a response header carries (src/workers/machine.rs: NUL-separated fields)", () => {
  /** Every header of `res` as [name, value], each checked for the characters the entry's format splits on. */
  function assertHeadersWhole(res, what) {
    for (const [name, value] of res.headers) {
      assert.doesNotMatch(name, /[\0\r\n]/, `${what}: header name ${JSON.stringify(name)}`);
      assert.doesNotMatch(value, /[\0\r\n]/, `${what}: ${name}`);
    }
    assert.ok(res.status < 500, `${what}: ${res.status}`);
  }

  test("state, scope, resource and paths with NUL, CR and LF: whole headers, the state echoed encoded", async () => {
    const nul = await register({ redirect_uris: ["https://client.example/cb"], client_name: "nul\u0000name" });
    assertHeadersWhole(nul.res, "registration with a NUL in its name");
    const { json } = await register({ redirect_uris: ["https://client.example/cb"], client_name: "plain" });
    const { challenge } = await pkce();
    const evil = "a\u0000b\r\nx-injected: 1";
    const params = { response_type: "code", client_id: json.client_id, redirect_uri: "https://client.example/cb", code_challenge: challenge, code_challenge_method: "S256", state: evil };
    const jar = new CookieJar();
    const scoped = await fetch(authorizeUrl({ ...params, scope: evil }), { redirect: "manual" });
    assertHeadersWhole(scoped, "scope with control characters");
    assert.equal(scoped.headers.get("x-injected"), null);
    await scoped.arrayBuffer();
    const page = await fetch(authorizeUrl(params), { redirect: "manual", headers: jar.headers() });
    assertHeadersWhole(page, "consent page");
    jar.store(page);
    const form = parseConsentForm(await page.text());
    for (const action of ["deny", "approve"]) {
      const res = await fetch(`${base}/authorize`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(base).origin, ...jar.headers() },
        body: new URLSearchParams({ ...form.hidden, api_key: testKey("sk-"), action }),
      });
      assertHeadersWhole(res, `consent ${action}`);
      if (action === "deny") {
        assert.equal(res.status, 303);
        assert.equal(new URL(res.headers.get("location")).searchParams.get("state"), evil, "the state comes back as sent");
        assert.equal(res.headers.get("x-injected"), null);
      }
      await res.arrayBuffer();
    }
    // An invalid resource, an error redirect carrying the state.
    const bad = await fetch(authorizeUrl({ ...params, resource: "https://r.example/\u0000" }), { redirect: "manual" });
    assertHeadersWhole(bad, "bad resource");
    await bad.arrayBuffer();
    for (const path of ["/device/%00", "/authorize/%0d%0ax-injected:%201", "/grants/%00?x=%00"]) {
      const res = await fetch(base + path, { redirect: "manual" });
      assertHeadersWhole(res, path);
      assert.equal(res.headers.get("x-injected"), null, path);
      await res.arrayBuffer();
    }
  });
});
