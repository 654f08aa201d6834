// The security suite against the real worker in workerd (`wrangler dev`).
// Every case asserts the exact secure outcome: an error page that does not
// redirect, an error redirect with `error`, `state` and `iss`, or a JSON
// 400/401 with the RFC error code. The same attacks (and the ones only a
// native test can drive: store failures, code expiry, interleavings, property
// tests) are in tests/integration/security.rs; SECURITY.md has the threat model.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CookieJar, parseConsentForm, testKey } from "./helpers.mjs";
import {
  FORM,
  REDIRECT,
  answer,
  approve,
  assertCleanLocation,
  assertErrorRedirect,
  assertJsonError,
  assertPage,
  assertUnframeable,
  authParams,
  authorizeUrl,
  b64url,
  consentPage,
  get,
  pkce,
  pool,
  post,
  register,
  token,
  tokenBody,
} from "./sec-lib.mjs";
import { startWorker } from "./worker.mjs";

let worker;
let base;
let iss;
before(async () => {
  worker = await startWorker();
  base = worker.base;
  iss = base; // ISSUER is empty in wrangler.toml: the request origin
});
after(async () => {
  await worker?.stop();
});

const PAYLOAD = `</script><script>alert(1)</script>"><svg onload=alert(1)>'><img src=x onerror=alert(1)>\u2028\u2029`;

function assertNoMarkup(html, what) {
  for (const raw of ["<script", "<svg", "<img src=x", '"><svg', "'><img", "\u2028", "\u2029", "onload=alert(1)>", "onerror=alert(1)>"]) {
    assert.ok(!html.includes(raw), `${what}: ${JSON.stringify(raw)} appears unescaped`);
  }
}

// ---------------------------------------------------------------- redirect URIs

const BAD_REDIRECT_URIS = [
  // userinfo
  "https://app.example@evil.example/cb",
  "https://yourapp.com@evil.example/callback",
  "https://yourapp.com:443@evil.example/callback",
  "https://user@yourapp.com/callback",
  "http://127.0.0.1@evil.example/cb",
  // backslash tricks
  "https://evil.example\\@yourapp.com/callback",
  "https://yourapp.com\\@evil.example/callback",
  "https:\\\\evil.example/cb",
  "https:/\\evil.example/cb",
  "https://yourapp.com\\.evil.example/callback",
  // fragments
  "https://yourapp.com/callback#",
  "https://yourapp.com/callback#frag",
  "https://yourapp.com/callback#@evil.example",
  // relative and scheme-relative
  "/callback",
  "callback",
  "//evil.example/cb",
  "\\\\evil.example/cb",
  "https:evil.example/cb",
  "https:/evil.example/cb",
  "https:///evil.example/cb",
  // plain http to a host that is not loopback
  "http://yourapp.com/callback",
  "http://evil.example/cb",
  "http://10.0.0.1/cb",
  "http://169.254.169.254/latest/meta-data",
  "http://[::ffff:127.0.0.1]/cb",
  // loopback look-alikes
  "http://localhost.evil.example/cb",
  "http://127.0.0.1.nip.io/cb",
  "http://localhost./cb",
  "http://localhost%2eevil.example/cb",
  "http://127.0.0.1:8080.evil.example/cb",
  // script, data and local-content schemes, any case, behind white space or controls
  "javascript:alert(1)",
  "JAVASCRIPT:alert(1)",
  "JaVaScRiPt:alert(1)",
  " javascript:alert(1)",
  "\tjavascript:alert(1)",
  "\njavascript:alert(1)",
  "\u0000javascript:alert(1)",
  "\u0001javascript:alert(1)",
  "\u001fjavascript:alert(1)",
  "java\nscript:alert(1)",
  "java\tscript:alert(1)",
  "javascript://yourapp.com/%0aalert(1)",
  "data:text/html,<script>alert(1)</script>",
  "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
  " data:text/html,x",
  "vbscript:msgbox(1)",
  "VBScript:msgbox(1)",
  "\u000bvbscript:msgbox(1)",
  "file:///etc/passwd",
  "FILE://yourapp.com/callback",
  "\u000cfile:///etc/passwd",
  "blob:https://yourapp.com/5a5b6e64-0000-4000-8000-000000000000",
  "BLOB:https://yourapp.com/x",
  "\u007fblob:https://yourapp.com/x",
  // CR, LF and NUL anywhere
  "https://yourapp.com/call\r\nback",
  "https://yourapp.com/callback\n",
  "https://yourapp.com/callback\r",
  "\r\nhttps://yourapp.com/callback",
  "https://your\u0000app.com/callback",
  "https://yourapp.com/callback\u0000",
  "https://yourapp.com/callback?x=\r\nSet-Cookie:%20a=b",
  "https://yourapp.com\r\n.evil.example/callback",
  // not callbacks at all
  "ftp://yourapp.com/cb",
  "wss://yourapp.com/cb",
  "about:blank",
  "urn:ietf:wg:oauth:2.0:oob",
  "mailto:a@yourapp.com",
];

describe("redirect URIs", () => {
  test("/register refuses every dangerous redirect URI with 400 invalid_redirect_uri", async () => {
    await pool(BAD_REDIRECT_URIS, 8, async (uri) => {
      const what = `register ${JSON.stringify(uri)}`;
      assertJsonError(await register(base, { redirect_uris: [uri] }), 400, "invalid_redirect_uri", what);
      // One bad URI rejects the whole registration.
      assertJsonError(
        await register(base, { redirect_uris: [REDIRECT, uri], client_name: "x" }),
        400,
        "invalid_redirect_uri",
        `${what} among good ones`,
      );
    });
  });

  test("/authorize answers every dangerous redirect URI with an error page, never a redirect", async () => {
    const reg = await register(base, { redirect_uris: [REDIRECT], client_name: "Signed" });
    const signed = JSON.parse(reg.text).client_id;
    const { challenge } = pkce();
    const cases = [];
    for (const uri of [...BAD_REDIRECT_URIS, ""]) {
      for (const client_id of ["yourapp.com", "evil.example", signed]) {
        if (uri === "" && client_id === signed) continue; // its only URI is the default
        cases.push({ uri, client_id });
      }
    }
    await pool(cases, 8, async ({ uri, client_id }) => {
      const r = await get(authorizeUrl(base, authParams({ client_id, redirect_uri: uri, challenge })));
      assertPage(r, 400, `authorize client=${client_id.slice(0, 20)} redirect_uri=${JSON.stringify(uri)}`);
      assert.equal(r.res.headers.get("set-cookie"), null);
    });
  });

  test("a redirect URI on another host or path than the client's is an error page", async () => {
    const { challenge } = pkce();
    for (const uri of [
      "https://evil.example/callback",
      "https://sub.yourapp.com/callback",
      "https://yourapp.com.evil.example/callback",
      "https://yourapp.com./callback",
      "https://yourаpp.com/callback", // Cyrillic а
      "cursor://evil.example/callback",
    ]) {
      assertPage(await get(authorizeUrl(base, authParams({ redirect_uri: uri, challenge }))), 400, uri);
    }
    const reg = await register(base, { redirect_uris: ["https://a.example/cb", "http://127.0.0.1:9000/cb"], client_name: "A" });
    const client_id = JSON.parse(reg.text).client_id;
    for (const uri of ["https://a.example/cb2", "https://a.example/cb/", "https://a.example/cb?x=1", "https://a.example:444/cb", "http://localhost:9000/cb"]) {
      assertPage(await get(authorizeUrl(base, authParams({ client_id, redirect_uri: uri, challenge }))), 400, uri);
    }
    const ok = await get(authorizeUrl(base, authParams({ client_id, redirect_uri: "http://127.0.0.1:41234/cb", challenge })));
    assert.equal(ok.res.status, 200, "loopback: any port");
  });

  test("an internationalized look-alike host is refused in Unicode form (send punycode) and shown as punycode", async () => {
    const unicode = await register(base, { redirect_uris: ["https://аррӏе.com/cb"] });
    assert.equal(unicode.res.status, 400, unicode.text);
    assert.match(unicode.text, /xn--/, "the error says to send the punycode form");
    const reg = await register(base, { redirect_uris: ["https://xn--80ak6aa92e.com/cb"] });
    assert.equal(reg.res.status, 201, reg.text);
    const client_id = JSON.parse(reg.text).client_id;
    assert.equal(client_id, "xn--80ak6aa92e.com");
    const page = await consentPage(base, authParams({ client_id, redirect_uri: "https://xn--80ak6aa92e.com/cb" }));
    assert.equal(page.res.status, 200, page.text.slice(0, 500));
    assert.ok(page.text.includes('<strong class="host">xn--80ak6aa92e.com</strong>'));
    assert.ok(!page.text.includes("аррӏе"), "the Unicode look-alike is never shown");
  });

  test("percent-encoded CR/LF stays encoded: no raw CR/LF in any Location", async () => {
    const uri = "https://yourapp.com/cb%0d%0aSet-Cookie:%20x=1";
    const r = await get(authorizeUrl(base, authParams({ redirect_uri: uri, response_type: "token" })));
    assert.equal(r.res.status, 302);
    const loc = r.res.headers.get("location");
    assertCleanLocation(loc, uri);
    assert.ok(loc.startsWith(`${uri}?`), loc);
    assert.equal(r.res.headers.get("set-cookie"), null);
  });
});

// ---------------------------------------------------------------- injection

describe("injection", () => {
  test("HTML/JS payloads in state, scope, client_name, resource and redirect URI appear only escaped", async () => {
    const redirect = `https://app.example/cb?x="><svg/onload=alert(1)>'`;
    // A name may not hold line or paragraph separators (refused at /register).
    const name = PAYLOAD.replace(/[\u2028\u2029]/g, "");
    const reg = await register(base, { redirect_uris: [redirect], client_name: name });
    assert.equal(reg.res.status, 201, reg.text);
    assert.equal(JSON.parse(reg.text).client_name, name, "echoed exactly, as JSON");
    const client_id = JSON.parse(reg.text).client_id;
    const { verifier, challenge } = pkce();
    const scope = `</script><svg/onload=alert(1)>'-alert(1)-'`;
    const resource = `https://mcp.example/</script><svg/onload=alert(1)>"'`;
    const params = authParams({ client_id, redirect_uri: redirect, challenge, state: PAYLOAD, scope, resource });
    const jar = new CookieJar();
    const page = await consentPage(base, params, jar);
    assert.equal(page.res.status, 200, page.text.slice(0, 500));
    assertNoMarkup(page.text, "consent page");
    assert.ok(page.text.includes("&lt;/script&gt;&lt;script&gt;alert(1)"), "client_name escaped");
    assert.ok(page.text.includes("&lt;/script&gt;&lt;svg/onload=alert(1)&gt;&#39;-alert(1)-&#39;"), "scope escaped");

    const key = testKey("inj");
    const r = await answer(base, page, { api_key: key, action: "approve" }, jar);
    assert.equal(r.res.status, 303, r.text);
    const loc = r.res.headers.get("location");
    assertCleanLocation(loc, "approve");
    const u = new URL(loc);
    assert.equal(u.origin + u.pathname, "https://app.example/cb");
    assert.equal(u.searchParams.get("x"), `"><svg/onload=alert(1)>'`);
    assert.equal(u.searchParams.get("state"), PAYLOAD, "state round-trips exactly");
    const t = await token(base, tokenBody({ code: u.searchParams.get("code"), client_id, redirect_uri: redirect, verifier }));
    assert.equal(t.res.status, 200, t.text);
    assert.equal(JSON.parse(t.text).access_token, key);
    assert.equal(JSON.parse(t.text).scope, scope);

    // Error pages and JSON errors reflect nothing from the request.
    for (const q of [
      { client_id: PAYLOAD },
      { client_id: "yourapp.com", redirect_uri: `https://yourapp.com/${PAYLOAD}` },
      { client_id: "yourapp.com", redirect_uri: `javascript:${PAYLOAD}`, state: PAYLOAD },
    ]) {
      const e = await get(authorizeUrl(base, q));
      assertPage(e, 400, JSON.stringify(q).slice(0, 60));
      assertNoMarkup(e.text, "error page");
    }
    const e = await token(base, new URLSearchParams({ grant_type: PAYLOAD }).toString());
    assertJsonError(e, 400, "unsupported_grant_type", "token");
    assert.ok(!e.text.includes("<svg"));
  });

  test("a 2 KB state round-trips exactly through approve, deny and an error redirect", async () => {
    const alphabet = "aZ09-._~!$&'()*+,;=:@/?%#[] \"<>\\^`{|}\r\n\té€😀\u2028";
    let state = "";
    for (let i = 0; state.length < 2048; i++) state += alphabet[i % alphabet.length];
    state = [...state].slice(0, 2048).join("");
    for (const action of ["approve", "deny"]) {
      const { verifier, challenge } = pkce();
      const jar = new CookieJar();
      const page = await consentPage(base, authParams({ challenge, state }), jar);
      assert.equal(page.res.status, 200);
      const r = await answer(base, page, { api_key: testKey(), action }, jar);
      assert.equal(r.res.status, 303);
      const loc = r.res.headers.get("location");
      assertCleanLocation(loc, action);
      const u = new URL(loc);
      assert.equal(u.searchParams.get("state"), state, action);
      assert.equal(u.searchParams.get("iss"), iss);
      if (action === "approve") {
        const t = await token(base, tokenBody({ code: u.searchParams.get("code"), verifier }));
        assert.equal(t.res.status, 200, t.text);
      } else {
        assert.equal(u.searchParams.get("error"), "access_denied");
      }
    }
    const r = await get(authorizeUrl(base, authParams({ state, code_challenge_method: "plain" })));
    assertErrorRedirect(r, { redirect: REDIRECT, error: "invalid_request", state, iss }, "error redirect");
  });

  test("oversized queries and bodies get a clean 4xx", async () => {
    for (const size of [17 * 1024, 64 * 1024]) {
      const r = await get(authorizeUrl(base, authParams({ pad: "a".repeat(size) })));
      assert.ok(r.res.status >= 400 && r.res.status < 500, `${size}-byte query: ${r.res.status}`);
      assert.equal(r.res.headers.get("location"), null);
    }
    const r = await get(authorizeUrl(base, authParams({ state: "s".repeat(4097) })));
    // Refused, with the state the client will check (RFC 6749 §4.1.2.1).
    assertErrorRedirect(r, { redirect: REDIRECT, error: "invalid_request", state: "s".repeat(4097), iss }, "4097-byte state");
    const big = "a=" + "b".repeat(64 * 1024);
    assertPage(await post(new URL("/authorize", base), big), 413, "consent body");
    assertJsonError(await token(base, big), 413, "invalid_request", "token body");
    assertJsonError(await register(base, big), 413, "invalid_request", "register body");
    // Without Content-Length (chunked): read, then refused.
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 9; i++) c.enqueue(new TextEncoder().encode("x".repeat(8 * 1024)));
        c.close();
      },
    });
    const res = await fetch(new URL("/token", base), { method: "POST", headers: { "content-type": FORM }, body: chunked, duplex: "half" });
    assertJsonError({ res, text: await res.text() }, 413, "invalid_request", "chunked token body");
  });
});

// ---------------------------------------------------------------- consent

describe("consent", () => {
  test("a consent POST without a valid CSRF token or from another origin is 403 with no code; a double click gets the same code", async () => {
    const jar = new CookieJar();
    const page = await consentPage(base, authParams({}), jar);
    const form = parseConsentForm(page.text);
    const key = testKey();
    const cookie = jar.header();
    const other = await consentPage(base, authParams({}), new CookieJar());
    const otherForm = parseConsentForm(other.text);
    const fields = (over = {}) => new URLSearchParams({ ...form.hidden, api_key: key, action: "approve", ...over });
    const zeros = "A".repeat(43);
    const cases = [
      ["no CSRF cookie", fields(), {}],
      ["no csrf field", new URLSearchParams({ request: form.hidden.request, api_key: key, action: "approve" }), { cookie }],
      ["wrong csrf field", fields({ csrf: zeros }), { cookie }],
      ["wrong CSRF cookie", fields(), { cookie: `__Host-parallel-oauth-csrf=${zeros}` }],
      ["field and cookie agree but are not the form's", fields({ csrf: zeros }), { cookie: `__Host-parallel-oauth-csrf=${zeros}` }],
      ["another browser's form", fields({ request: otherForm.hidden.request }), { cookie }],
      ["another browser's form and token", fields({ request: otherForm.hidden.request, csrf: otherForm.hidden.csrf }), { cookie }],
      ["tampered sealed form", fields({ request: form.hidden.request.slice(0, -4) + "AAAA" }), { cookie }],
      ["no sealed form", new URLSearchParams({ csrf: form.hidden.csrf, api_key: key, action: "approve" }), { cookie }],
      ["foreign Origin", fields(), { cookie, origin: "https://evil.example" }],
      ["look-alike Origin", fields(), { cookie, origin: `${base}.evil.example` }],
      ["cross-site fetch", fields(), { cookie, "sec-fetch-site": "cross-site" }],
      ["same-site fetch", fields(), { cookie, "sec-fetch-site": "same-site" }],
      ["foreign Origin, deny", fields({ action: "deny" }), { cookie, origin: "https://evil.example" }],
    ];
    for (const [what, body, headers] of cases) {
      const r = await post(new URL("/authorize", base), body, { headers });
      assertPage(r, 403, what);
      assert.ok(!r.text.includes(key), what);
    }
    // The genuine post works once: the same approval again within 10 s (a
    // double click) gets the same redirect, the same code; a denial after it
    // is refused. (After the 10 s a replay is refused: tests/integration.)
    const okHeaders = { cookie, origin: base, "sec-fetch-site": "same-origin" };
    const ok = await post(new URL("/authorize", base), fields(), { headers: okHeaders });
    assert.equal(ok.res.status, 303, ok.text);
    assert.ok(new URL(ok.res.headers.get("location")).searchParams.get("code"));
    const again = await post(new URL("/authorize", base), fields(), { headers: okHeaders });
    assert.equal(again.res.status, 303, "double click");
    assert.equal(again.res.headers.get("location"), ok.res.headers.get("location"), "the same code");
    assertPage(await post(new URL("/authorize", base), fields({ action: "deny" }), { headers: okHeaders }), 403, "deny after approve");
  });

  test("a cross-site GET of /authorize with a remember cookie never completes without the click", async () => {
    const jar = new CookieJar();
    const key = testKey("remember");
    await approve(base, authParams({}), key, { jar, extra: { remember: "1" } });
    assert.ok(jar.cookies.has("__Host-parallel-oauth-key"), "remember cookie set");
    const { challenge } = pkce();
    const attacker = authParams({ client_id: "evil.example", redirect_uri: "https://evil.example/cb", challenge });
    for (const params of [authParams({}), attacker]) {
      const r = await consentPage(base, params, jar, { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate", referer: "https://evil.example/" });
      assert.equal(r.res.status, 200);
      assert.equal(r.res.headers.get("location"), null, "no redirect without the click");
      assert.ok(r.text.includes("key_choice_saved"), "the saved key is offered");
      assert.ok(!r.text.includes(key), "the saved key is never in the page");
      assertUnframeable(r.res, "consent page");
    }
    // The attacker's own form, posted from its site with the victim's cookies.
    const theirs = await consentPage(base, attacker, new CookieJar());
    const body = new URLSearchParams({ ...parseConsentForm(theirs.text).hidden, key_choice: "saved", action: "approve" });
    const r = await post(new URL("/authorize", base), body, { headers: { ...jar.headers(), origin: "https://evil.example", "sec-fetch-site": "cross-site" } });
    assertPage(r, 403, "cross-site approve with the remember cookie");
    const r2 = await post(new URL("/authorize", base), body, { headers: { cookie: `__Host-parallel-oauth-key=${jar.cookies.get("__Host-parallel-oauth-key")}` } });
    assertPage(r2, 403, "approve with only the remember cookie");
  });

  test("every HTML page (consent, grants, error) cannot be framed, runs no script and is not cached", async () => {
    const jar = new CookieJar();
    const page = await consentPage(base, authParams({}), jar);
    const pages = [
      ["consent", page],
      ["missing key", await answer(base, page, { action: "approve" }, jar)],
      ["bad request", await get(authorizeUrl(base, { client_id: "yourapp.com" }))],
      ["405", await (async () => {
        const res = await fetch(new URL("/authorize", base), { method: "PUT", redirect: "manual" });
        return { res, text: await res.text() };
      })()],
      ["403", await post(new URL("/authorize", base), "request=x&csrf=y&action=approve")],
      ["413", await post(new URL("/authorize", base), "a".repeat(70_000))],
      ["grants", await get(new URL("/grants", base))],
      ["grants 403", await post(new URL("/grants", base), "session=x&csrf=y&action=revoke_all")],
      ["grants 413", await post(new URL("/grants", base), "a".repeat(70_000))],
      ["grants 405", await (async () => {
        const res = await fetch(new URL("/grants", base), { method: "PUT", redirect: "manual" });
        return { res, text: await res.text() };
      })()],
    ];
    for (const [what, { res, text }] of pages) {
      assert.match(res.headers.get("content-type") || "", /^text\/html/, what);
      assertUnframeable(res, what);
      const csp = res.headers.get("content-security-policy");
      assert.match(csp, /default-src 'none'/, what);
      assert.ok(!/script-src/.test(csp), what);
      assert.equal(res.headers.get("cache-control"), "no-store", what);
      assert.equal(res.headers.get("referrer-policy"), "no-referrer", what);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff", what);
      assert.ok(!text.includes("<script"), what);
    }
  });

  test("the key never appears in any response but the token response", async () => {
    const key = testKey("secret");
    const fragment = key.slice(3, -4);
    const seen = [];
    const keep = (what, r) => {
      seen.push([what, r]);
      return r;
    };
    const { verifier, challenge } = pkce();
    const params = authParams({ challenge });
    const jar = new CookieJar();
    keep("metadata", await get(new URL("/.well-known/oauth-authorization-server", base)));
    keep("register", await register(base, { redirect_uris: [REDIRECT] }));
    const page = keep("consent", await consentPage(base, params, jar));
    const approved = keep("approve", await answer(base, page, { api_key: key, remember: "1", action: "approve" }, jar));
    const again = keep("consent with saved key", await consentPage(base, params, jar));
    keep("missing key", await answer(base, again, { key_choice: "new", action: "approve" }, jar));
    keep("bad key", await answer(base, again, { key_choice: "new", api_key: `${key} x`, action: "approve" }, jar));
    const third = keep("consent 3", await consentPage(base, params, jar));
    const saved = keep("approve with saved key", await answer(base, third, { key_choice: "saved", action: "approve" }, jar));
    keep("replay", await answer(base, third, { key_choice: "saved", action: "approve" }, jar));
    const code1 = new URL(approved.res.headers.get("location")).searchParams.get("code");
    keep("wrong verifier", await token(base, tokenBody({ code: code1, verifier: pkce().verifier })));
    const code2 = new URL(saved.res.headers.get("location")).searchParams.get("code");
    const t = await token(base, tokenBody({ code: code2, verifier }));
    assert.equal(JSON.parse(t.text).access_token, key, "the saved key is delivered");
    keep("token replay", await token(base, tokenBody({ code: code2, verifier })));
    const fourth = keep("consent 4", await consentPage(base, params, jar));
    keep("forget", await answer(base, fourth, { action: "forget" }, jar));
    for (const [what, { res, text }] of seen) {
      assert.ok(!text.includes(fragment), `${what}: the key is in the body`);
      for (const [name, value] of res.headers) assert.ok(!value.includes(fragment), `${what}: the key is in ${name}`);
    }
  });
});

// ---------------------------------------------------------------- PKCE

describe("PKCE", () => {
  test("/authorize: missing, plain, missing method, unknown or lower-case method, bad length or characters", async () => {
    const { challenge } = pkce();
    const c42 = challenge.slice(0, 42);
    const cases = [
      [{ code_challenge: undefined }, "missing challenge"],
      [{ code_challenge: "" }, "empty challenge"],
      [{ code_challenge_method: undefined }, "missing method"],
      [{ code_challenge_method: "plain" }, "plain"],
      [{ code_challenge_method: "PLAIN" }, "PLAIN"],
      [{ code_challenge_method: "s256" }, "lower-case s256"],
      [{ code_challenge_method: "S512" }, "S512"],
      [{ code_challenge_method: "SHA256" }, "SHA256"],
      [{ code_challenge_method: "S256 " }, "S256 with a space"],
      [{ code_challenge: c42 }, "42 characters"],
      [{ code_challenge: "a".repeat(129) }, "129 characters"],
      [{ code_challenge: `${c42}+` }, "+"],
      [{ code_challenge: `${c42}/` }, "/"],
      [{ code_challenge: `${c42}=` }, "="],
      [{ code_challenge: `${c42}.` }, "."],
      [{ code_challenge: `${c42} ` }, "space"],
      [{ code_challenge: `${c42}\u0000` }, "NUL"],
      [{ code_challenge: `${challenge.slice(0, 41)}é` }, "é"],
    ];
    await pool(cases, 6, async ([over, what]) => {
      const p = authParams({ challenge, state: "st-9" });
      for (const [k, v] of Object.entries(over)) {
        if (v === undefined) delete p[k];
        else p[k] = v;
      }
      const r = await get(authorizeUrl(base, p));
      assertErrorRedirect(r, { redirect: REDIRECT, error: "invalid_request", state: "st-9", iss }, what);
      assert.equal(r.res.headers.get("set-cookie"), null, what);
    });
  });

  test("/token: missing, wrong, too short or long, bad characters in the verifier", async () => {
    const { verifier, challenge } = pkce();
    const { code } = await approve(base, authParams({ challenge }), testKey());
    const body = (v) => tokenBody({ code, verifier: v });
    const nums = Array.from({ length: 32 }, (_, i) => String((i * 97 + 13) % 256));
    const recipe = (list) => b64url(Buffer.from(list.join(",")));
    const malformed = [
      [body("").replace("&code_verifier=", ""), "missing"],
      [body(""), "empty"],
      [body(verifier.slice(0, 42)), "42 characters"],
      [body("a".repeat(129)), "129 characters"],
      [body("Q".repeat(150)), "150 characters, not the recipe's shape"],
      [body(`${verifier.slice(0, 42)}+`), "+"],
      [body(`${verifier.slice(0, 42)}/`), "/"],
      [body(`${verifier.slice(0, 42)}=`), "="],
      [body(`${verifier.slice(0, 42)} `), "space"],
      [body(`${verifier.slice(0, 42)}\u0000`), "NUL"],
      [body(`${verifier.slice(0, 41)}é`), "é"],
      [body(recipe(nums.slice(0, 31))), "recipe shape, 31 numbers"],
      [body(recipe([...nums, "1"])), "recipe shape, 33 numbers"],
      [body(recipe(nums.map((n, i) => (i === 5 ? "256" : n)))), "recipe shape, 256"],
      [body(recipe(nums.map((n, i) => (i === 0 ? "-1" : n)))), "recipe shape, -1"],
      [body(`${recipe(nums)}=`), "recipe shape, padded"],
      [`${body(verifier)}&code_verifier=${verifier}`, "repeated"],
    ];
    for (const [b, what] of malformed) assertJsonError(await token(base, b), 400, "invalid_request", `verifier ${what}`);
    // None of those was a redemption attempt; a well-formed wrong verifier is,
    // and it consumes the code (SECURITY.md).
    assertJsonError(await token(base, body(pkce().verifier)), 400, "invalid_grant", "wrong verifier");
    assertJsonError(await token(base, body(verifier)), 400, "invalid_grant", "right verifier after a wrong one");
  });

  test("a verifier over 128 characters works only in the README recipe's exact shape", async () => {
    const nums = Array.from(crypto.getRandomValues(new Uint8Array(32)), String);
    const verifier = b64url(Buffer.from(nums.join(",")));
    assert.ok(verifier.length > 128);
    const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const { code } = await approve(base, authParams({ challenge }), testKey());
    const r = await token(base, tokenBody({ code, verifier }));
    assert.equal(r.res.status, 200, r.text);
  });
});

// ---------------------------------------------------------------- codes

describe("authorization codes", () => {
  test("replay: the second use is invalid_grant", async () => {
    const { verifier, challenge } = pkce();
    const { code } = await approve(base, authParams({ challenge }), testKey());
    assert.equal((await token(base, tokenBody({ code, verifier }))).res.status, 200);
    assertJsonError(await token(base, tokenBody({ code, verifier })), 400, "invalid_grant", "replay");
  });

  test("a code is bound to its client_id and redirect_uri, and a failed attempt consumes it", async () => {
    const reg = await register(base, { redirect_uris: [REDIRECT], client_name: "Other" });
    const otherSigned = JSON.parse(reg.text).client_id;
    const changes = [
      [{ client_id: "evil.example" }, "another host-name client"],
      [{ client_id: otherSigned }, "another registered client"],
      [{ redirect_uri: "https://yourapp.com/other" }, "another path"],
      [{ redirect_uri: "https://yourapp.com/callback/" }, "trailing slash"],
      [{ redirect_uri: "https://yourapp.com:444/callback" }, "another port"],
    ];
    await pool(changes, 3, async ([change, what]) => {
      const { verifier, challenge } = pkce();
      const { code } = await approve(base, authParams({ challenge }), testKey());
      assertJsonError(await token(base, tokenBody({ code, verifier, ...change })), 400, "invalid_grant", what);
      assertJsonError(await token(base, tokenBody({ code, verifier })), 400, "invalid_grant", `right request after: ${what}`);
    });
  });

  test("random, truncated and altered codes are invalid_grant and leave the real code alone", async () => {
    const { verifier, challenge } = pkce();
    const { code } = await approve(base, authParams({ challenge }), testKey());
    const flipped = code.slice(0, -1) + (code.at(-1) === "A" ? "B" : "A");
    for (const [c, what] of [
      [b64url(crypto.getRandomValues(new Uint8Array(32))), "random"],
      [code.slice(0, 42), "truncated"],
      [code.slice(0, 10), "short"],
      [`${code}A`, "extended"],
      [`${code}=`, "padded"],
      [flipped, "last character changed"],
      ["x".repeat(5000), "5000 characters"],
    ]) {
      assertJsonError(await token(base, tokenBody({ code: c, verifier })), 400, "invalid_grant", what);
    }
    assert.equal((await token(base, tokenBody({ code, verifier }))).res.status, 200);
  });

  test("20 concurrent redemptions of one code: exactly one succeeds", async () => {
    const key = testKey("race");
    const { verifier, challenge } = pkce();
    const { code } = await approve(base, authParams({ challenge }), key);
    const body = tokenBody({ code, verifier });
    const results = await Promise.all(Array.from({ length: 20 }, () => token(base, body)));
    const ok = results.filter((r) => r.res.status === 200);
    assert.equal(ok.length, 1, results.map((r) => r.res.status).join(","));
    assert.equal(JSON.parse(ok[0].text).access_token, key);
    for (const r of results.filter((r) => r.res.status !== 200)) assertJsonError(r, 400, "invalid_grant", "concurrent redemption");
  });

  test("the same consent form posted 20 times at once yields one code", async () => {
    const jar = new CookieJar();
    const page = await consentPage(base, authParams({}), jar);
    const results = await Promise.all(Array.from({ length: 20 }, () => answer(base, page, { api_key: testKey(), action: "approve" }, jar)));
    // One code: those answered after the first get its redirect again (a
    // double click's answer), those before it are refused.
    const approved = results.filter((r) => r.res.status === 303);
    const codes = new Set(approved.map((r) => new URL(r.res.headers.get("location")).searchParams.get("code")));
    assert.equal(codes.size, 1, results.map((r) => r.res.status).join(","));
    for (const r of results.filter((r) => r.res.status !== 303)) assertPage(r, 403, "concurrent consent");
  });
});

// ---------------------------------------------------------------- token and registration endpoints

describe("token and registration endpoints", () => {
  test("wrong methods are 405 with Allow", async () => {
    for (const method of ["GET", "PUT", "DELETE", "PATCH"]) {
      for (const path of ["/token", "/register"]) {
        const res = await fetch(new URL(path, base), { method, redirect: "manual" });
        assertJsonError({ res, text: await res.text() }, 405, "invalid_request", `${method} ${path}`);
        assert.equal(res.headers.get("allow"), "POST, OPTIONS");
      }
    }
    const head = await fetch(new URL("/token", base), { method: "HEAD" });
    assert.equal(head.status, 405);
  });

  test("malformed token requests are JSON errors that do not consume the code", async () => {
    const { verifier, challenge } = pkce();
    const { code } = await approve(base, authParams({ challenge }), testKey());
    const good = tokenBody({ code, verifier });
    const swap = (from, to) => good.replace(from, to);
    const cases = [
      [swap("authorization_code", "refresh_token"), FORM, 400, "unsupported_grant_type", "refresh_token"],
      [swap("authorization_code", "client_credentials"), FORM, 400, "unsupported_grant_type", "client_credentials"],
      [swap("authorization_code", "password"), FORM, 400, "unsupported_grant_type", "password"],
      [swap("authorization_code", "AUTHORIZATION_CODE"), FORM, 400, "unsupported_grant_type", "upper case"],
      [swap("grant_type=authorization_code&", ""), FORM, 400, "invalid_request", "no grant_type"],
      [JSON.stringify(Object.fromEntries(new URLSearchParams(good))), "application/json", 400, "invalid_request", "JSON"],
      [good, "text/plain", 400, "invalid_request", "text/plain"],
      [good, "multipart/form-data; boundary=x", 400, "invalid_request", "multipart"],
      [good, null, 400, "invalid_request", "no content type"],
      [`${good}&x=%zz`, FORM, 400, "invalid_request", "%zz"],
      [`${good}&x=%`, FORM, 400, "invalid_request", "lone %"],
      [`${good}&x=%C3%28`, FORM, 400, "invalid_request", "invalid UTF-8"],
      [`${good}&grant_type=authorization_code`, FORM, 400, "invalid_request", "repeated grant_type"],
      [`${good}&code=${code}`, FORM, 400, "invalid_request", "repeated code"],
      [`${good}&client_id=yourapp.com`, FORM, 400, "invalid_request", "repeated client_id"],
      [`${good}&redirect_uri=${encodeURIComponent(REDIRECT)}`, FORM, 400, "invalid_request", "repeated redirect_uri"],
      // No Authorization header: 400, no challenge (RFC 6749 §5.2 asks 401 only of a client that tried it).
      [swap("client_id=yourapp.com&", ""), FORM, 400, "invalid_client", "no client_id"],
      [swap("client_id=yourapp.com", "client_id=pc1.forged.AAAAAAAAAAAAAAAAAAAAAA"), FORM, 400, "invalid_client", "forged client_id"],
    ];
    for (const [b, type, status, error, what] of cases) {
      const r = await token(base, b, { type });
      assertJsonError(r, status, error, what);
      if (status === 401) assert.match(r.res.headers.get("www-authenticate") || "", /^Basic/, what);
      else assert.equal(r.res.headers.get("www-authenticate"), null, what);
    }
    const bytes = await fetch(new URL("/token", base), { method: "POST", headers: { "content-type": FORM }, body: new Uint8Array([0xff, 0xfe, 0x3d, 0x80]) });
    assertJsonError({ res: bytes, text: await bytes.text() }, 400, "invalid_request", "non-UTF-8");
    // The code survived all of them.
    const r = await token(base, good, { type: "application/x-www-form-urlencoded;charset=UTF-8" });
    assert.equal(r.res.status, 200, r.text);
  });

  test("every token response, success or error, is no-store and sets no cookie", async () => {
    const { verifier, challenge } = pkce();
    const { code } = await approve(base, authParams({ challenge }), testKey());
    const cookie = { cookie: "__Host-parallel-oauth-key=x; __Host-parallel-oauth-csrf=y" };
    const responses = [
      await token(base, tokenBody({ code, verifier }), { headers: cookie }),
      await token(base, tokenBody({ code, verifier }), { headers: cookie }),
      await token(base, "grant_type=x", { headers: cookie }),
      await token(base, "a=" + "b".repeat(70_000), { headers: cookie }),
      await get(new URL("/token", base), cookie),
    ];
    assert.equal(responses[0].res.status, 200);
    for (const { res } of responses) {
      assert.equal(res.headers.get("cache-control"), "no-store", String(res.status));
      assert.equal(res.headers.get("set-cookie"), null, String(res.status));
      assert.match(res.headers.get("content-type") || "", /^application\/json/);
      assert.equal(res.headers.get("access-control-allow-credentials"), null);
    }
  });

  test("non-JSON, oversized and wrongly typed registrations are 400/413 JSON", async () => {
    const valid = JSON.stringify({ redirect_uris: ["https://a.example/cb"] });
    const cases = [
      ["", "application/json", "empty"],
      ["not json", "application/json", "not JSON"],
      ["{", "application/json", "truncated"],
      ["[]", "application/json", "array"],
      ["null", "application/json", "null"],
      ["[".repeat(20_000) + "]".repeat(20_000), "application/json", "20000-deep"],
      [valid, "text/plain", "text/plain"],
      [valid, FORM, "form type"],
      [valid, "multipart/form-data; boundary=x", "multipart"],
      [valid, "text/html", "text/html"],
    ];
    for (const [body, type, what] of cases) assertJsonError(await register(base, body, { type }), 400, "invalid_client_metadata", what);
    assertJsonError(await register(base, "{}"), 400, "invalid_redirect_uri", "no redirect_uris");
    const big = JSON.stringify({ redirect_uris: ["https://a.example/cb"], x: "a".repeat(64 * 1024) });
    assertJsonError(await register(base, big), 413, "invalid_request", "over 64 KB");
    const ok = await register(base, valid);
    assert.equal(ok.res.status, 201);
    assert.equal(ok.res.headers.get("cache-control"), "no-store");
    assert.equal(ok.res.headers.get("set-cookie"), null);
  });
});

// ---------------------------------------------------------------- cookies

describe("cookies", () => {
  test("tampered, truncated, foreign and garbage remember cookies are ignored, never a 5xx", async () => {
    const jar = new CookieJar();
    await approve(base, authParams({}), testKey(), { jar, extra: { remember: "1" } });
    const good = jar.cookies.get("__Host-parallel-oauth-key");
    assert.ok(good);
    const flip = (i) => good.slice(0, i) + (good[i] === "A" ? "B" : "A") + good.slice(i + 1);
    const bad = [
      ["truncated", good.slice(0, -1)],
      ["half", good.slice(0, good.length >> 1)],
      ["first byte", flip(0)],
      ["key id byte", flip(3)],
      ["nonce byte", flip(10)],
      ["ciphertext byte", flip(30)],
      ["tag byte", flip(good.length - 2)],
      ["padded", `${good}==`],
      ["garbage", "%%%<>'"],
      ["empty", ""],
      ["plaintext key", "sk-plain-0123456789"],
      ["huge", "A".repeat(4000)],
      ["duplicated", `${good}; __Host-parallel-oauth-key=${good}`],
    ];
    await pool(bad, 4, async ([what, value]) => {
      const j = new CookieJar();
      const page = await consentPage(base, authParams({}), j, { cookie: `__Host-parallel-oauth-key=${value}` });
      assert.equal(page.res.status, 200, `${what}: ${page.res.status}`);
      assert.ok(!page.text.includes("key_choice_saved"), `${what}: a cookie that does not open counts as absent`);
      const r = await answer(base, page, { key_choice: "saved", action: "approve" }, j, {
        cookie: `${j.header()}; __Host-parallel-oauth-key=${value}`,
      });
      assert.equal(r.res.status, 400, `${what}: ${r.res.status}`);
      assert.equal(r.res.headers.get("location"), null, what);
    });
  });

  test("a garbage CSRF cookie is replaced, never an error", async () => {
    for (const value of ["", "x", "%%%", "A".repeat(42), "A".repeat(5000)]) {
      const jar = new CookieJar();
      const page = await consentPage(base, authParams({}), jar, { cookie: `__Host-parallel-oauth-csrf=${value}` });
      assert.equal(page.res.status, 200);
      const set = page.res.headers.get("set-cookie") || "";
      assert.match(set, /^__Host-parallel-oauth-csrf=[A-Za-z0-9_-]{43};/, set);
      assert.match(set, /Secure/);
      assert.match(set, /HttpOnly/);
      assert.match(set, /SameSite=Lax/);
      const r = await answer(base, page, { api_key: testKey(), action: "approve" }, jar);
      assert.equal(r.res.status, 303, value.slice(0, 10));
    }
  });
});

// ---------------------------------------------------------------- client metadata documents

describe("client metadata documents", () => {
  /** A local document server (http on loopback is a document URL because
   *  .dev.vars sets DEV=1). `handler(req, res)` answers each fetch. */
  async function docServer(handler) {
    const { createServer } = await import("node:http");
    const { freePort } = await import("./worker.mjs");
    const port = await freePort();
    const srv = createServer(handler);
    await new Promise((ok) => srv.listen(port, "127.0.0.1", ok));
    return { base: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => srv.close(ok)) };
  }

  test("a document's redirect URIs obey the same rules; a wrong client_id or a refused URI is an error page", async () => {
    let doc = {};
    const srv = await docServer((req, res) => res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(doc)));
    try {
      const id = `${srv.base}/client.json`;
      for (const [d, uri, what] of [
        [{ client_id: id, client_name: "A", redirect_uris: ["javascript:alert(1)"] }, "javascript:alert(1)", "javascript: in the document"],
        [{ client_id: id, client_name: "A", redirect_uris: ["https://app.example@evil.example/cb"] }, "https://app.example@evil.example/cb", "userinfo"],
        [{ client_id: id, client_name: "A", redirect_uris: ["http://evil.example/cb"] }, "http://evil.example/cb", "http non-loopback"],
        [{ client_id: "https://evil.example/doc", client_name: "A", redirect_uris: ["https://evil.example/cb"] }, "https://evil.example/cb", "another client_id"],
        [{ client_id: id, client_name: "A", redirect_uris: ["https://app.example/cb"] }, "https://evil.example/cb", "unlisted redirect URI"],
        [{ client_id: id, client_name: PAYLOAD, redirect_uris: ["https://app.example/cb"] }, "https://evil.example/cb", "payload name, unlisted URI"],
      ]) {
        doc = d;
        const r = await get(authorizeUrl(base, authParams({ client_id: id, redirect_uri: uri })));
        assertPage(r, 400, what);
        assertNoMarkup(r.text, what);
      }
    } finally {
      await srv.close();
    }
  });

  /** SECURITY BUG (DoS): WorkerFetch promises "at most 5 KB read", but it
   *  only checks a declared Content-Length; a chunked document is read whole
   *  (`response.bytes()`) until the 10 s timeout, so any https URL used as a
   *  client_id can make the Worker buffer megabytes per /authorize request
   *  (and exhaust the isolate's 128 MB). The body must be read as a stream
   *  and abandoned after MAX_DOCUMENT + 1 bytes. */
  test("a document without Content-Length is not read past 5 KB (cimd_document_read_is_bounded_without_content_length)", async () => {
    let sent = 0;
    const timers = new Set();
    const srv = await docServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" }); // chunked: no Content-Length
      res.write('{"client_id":"x","client_name":"A","redirect_uris":["https://app.example/cb"],"pad":"');
      const chunk = "a".repeat(16 * 1024);
      let waiting = false; // honour backpressure: count only what the peer takes
      const t = setInterval(() => {
        if (res.destroyed || sent > 32 * 1024 * 1024) {
          clearInterval(t);
          res.destroy();
          return;
        }
        if (waiting) return;
        sent += chunk.length;
        if (!res.write(chunk)) {
          waiting = true;
          res.once("drain", () => (waiting = false));
        }
      }, 10); // up to ~1.6 MB/s, endless
      timers.add(t);
      res.on("close", () => clearInterval(t));
    });
    try {
      const t0 = performance.now();
      const r = await get(authorizeUrl(base, authParams({ client_id: `${srv.base}/endless.json`, redirect_uri: "https://app.example/cb" })));
      const elapsed = performance.now() - t0;
      assertPage(r, 400, "an endless document");
      assert.ok(sent < 1024 * 1024, `the worker read ${(sent / 1048576).toFixed(1)} MB of a document limited to 5 KB`);
      assert.ok(elapsed < 5000, `answered after ${Math.round(elapsed)} ms`);
    } finally {
      for (const t of timers) clearInterval(t);
      await srv.close();
    }
  });

  test("a document declaring more than 5 KB is refused without reading it", async () => {
    const srv = await docServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100000" });
      res.end(" ".repeat(100000));
    });
    try {
      const r = await get(authorizeUrl(base, authParams({ client_id: `${srv.base}/big.json`, redirect_uri: "https://app.example/cb" })));
      assertPage(r, 400, "a 100 KB document");
    } finally {
      await srv.close();
    }
  });
});

// ---------------------------------------------------------------- parsers never fail

describe("robustness", () => {
  test("400 random requests at every endpoint: never a 5xx, and the worker stays up", async () => {
    let seed = 0x5eed;
    const rnd = (n) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = (a) => a[rnd(a.length)];
    const junk = () => {
      const chars = Array.from("aZ09%&=+;:/?#[]@!$'()*,.-_~ \"<>\\^`{|}\u00e9\u2028\u{1F600}\u0000\r\n\t");
      let s = "";
      for (let i = rnd(40); i > 0; i--) s += chars[rnd(chars.length)];
      return s;
    };
    const names = ["response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method", "state", "scope", "resource", "grant_type", "code", "code_verifier", "request", "csrf", "api_key", "action", "key_choice", "token", "token_type_hint", "refresh_token", "device_code", "user_code", "grant"];
    const values = () => pick(["code", "S256", "yourapp.com", REDIRECT, "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "access_token", "approve", "deny", pkce().challenge, "%zz", "", "BCDF-GHJK", junk(), junk()]);
    const query = () => {
      if (rnd(4) === 0) return junk();
      return Array.from({ length: rnd(8) }, () => `${pick(names)}=${rnd(2) ? encodeURIComponent(values()) : values()}`).join("&");
    };
    const cases = Array.from({ length: 400 }, () => {
      const method = pick(["GET", "POST", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"]);
      const path = pick([
        "/authorize", "/token", "/register", "/revoke", "/introspect", "/userinfo", "/grants", "/device_authorization", "/device",
        "/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource/x", "/.well-known/openid-configuration",
        "/.well-known/jwks.json", `/authorize/${junk()}`, `/${junk()}`,
      ]);
      const headers = {};
      if (rnd(2)) headers["content-type"] = pick([FORM, "application/json", "text/plain", "multipart/form-data", junk().replace(/[^\t\x20-\x7e\x80-\xff]/g, "")]);
      if (rnd(3) === 0) headers.origin = pick(["null", base, "https://evil.example"]);
      if (rnd(3) === 0) headers.cookie = `__Host-parallel-oauth-csrf=${encodeURIComponent(junk())}; __Host-parallel-oauth-key=${encodeURIComponent(junk())}`;
      if (rnd(4) === 0) headers.authorization = pick(["Basic !!!", "Basic eW91cmFwcC5jb206eA==", "Bearer x", "Basic", "Bearer a.b.c.d.e", "Bearer e30.e30.x", "Bearer"]);
      let body;
      if (!["GET", "HEAD"].includes(method) && rnd(3)) body = rnd(3) === 0 ? JSON.stringify({ redirect_uris: [values()], client_name: junk() }) : query();
      let url;
      try {
        url = new URL(`${path}?${query()}`, base);
      } catch {
        url = new URL(path, base);
      }
      return { method, url, headers, body };
    });
    await pool(cases, 8, async ({ method, url, headers, body }) => {
      const res = await fetch(url, { method, headers, body, redirect: "manual" });
      await res.arrayBuffer();
      assert.ok(res.status < 500, `${method} ${url.pathname}: ${res.status}`);
      assertCleanLocation(res.headers.get("location"), `${method} ${url.pathname}`);
    });
    const alive = await get(new URL("/.well-known/oauth-authorization-server", base));
    assert.equal(alive.res.status, 200);
    assert.ok(!/panicked|RuntimeError: unreachable/.test(worker.logs()), "no panic in the worker log");
  });
});
