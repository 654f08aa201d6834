// The original README's client recipe and demo.html (seeds/parallel-oauth-provider.md),
// run in Node with their logic unchanged: only the provider URL points at the
// local worker, `localStorage` is an in-memory stand-in, and the browser
// redirect to /authorize is replaced by completing consent through the real form.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { approveViaForm, metadata, testKey } from "./helpers.mjs";
import { startWorker } from "./worker.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)) };
}

describe("README recipe (https://yourapp.com/callback)", () => {
  test("discover, register, PKCE, authorize, consent, token -> access_token is the key", async () => {
    const PROVIDER = worker.base; // was "https://oauth.parallel.ai"
    const localStorage = memoryStorage();
    const API_KEY = testKey("recipe");

    // ### 1. Discover OAuth Endpoints
    const meta = await metadata(PROVIDER);
    assert.ok(meta.authorization_endpoint && meta.token_endpoint && meta.registration_endpoint, JSON.stringify(meta));

    // ### 2. Register Your Client (Dynamic Registration)
    const response = await fetch(`${PROVIDER}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        redirect_uris: ["https://yourapp.com/callback"],
      }),
    });
    assert.ok(response.ok, `POST /register -> ${response.status}`);
    const { client_id } = await response.json();
    // client_id will be your hostname (e.g., "yourapp.com")
    assert.equal(client_id, "yourapp.com");

    // ### 3. Start Authorization Flow
    // Generate PKCE parameters (verbatim: note the verifier is btoa() of the
    // array's *string* form, ~150 characters, longer than RFC 7636's 128)
    function generatePKCE() {
      const codeVerifier = btoa(crypto.getRandomValues(new Uint8Array(32))).replace(
        /[+/=]/g,
        (m) => ({ "+": "-", "/": "_", "=": "" }[m])
      );

      return crypto.subtle
        .digest("SHA-256", new TextEncoder().encode(codeVerifier))
        .then((hash) => ({
          codeVerifier,
          codeChallenge: btoa(String.fromCharCode(...new Uint8Array(hash))).replace(
            /[+/=]/g,
            (m) => ({ "+": "-", "/": "_", "=": "" }[m])
          ),
        }));
    }

    const { codeVerifier, codeChallenge } = await generatePKCE();
    localStorage.setItem("code_verifier", codeVerifier);
    assert.ok(codeVerifier.length > 128, `recipe verifier is ${codeVerifier.length} chars`);

    const authUrl = new URL(`${PROVIDER}/authorize`);
    authUrl.searchParams.set("client_id", "yourapp.com");
    authUrl.searchParams.set("redirect_uri", "https://yourapp.com/callback");
    authUrl.searchParams.set("response_type", "code");
    authUrl.searchParams.set("scope", "api");
    authUrl.searchParams.set("code_challenge", codeChallenge);
    authUrl.searchParams.set("code_challenge_method", "S256");
    authUrl.searchParams.set("state", "random-state-value");

    // window.location.href = authUrl.toString();  -> the user approves on the consent page
    const consent = await approveViaForm(PROVIDER, authUrl, API_KEY);
    assert.equal(consent.location.origin + consent.location.pathname, "https://yourapp.com/callback");
    assert.equal(consent.state, "random-state-value");
    assert.equal(consent.iss, meta.issuer, "iss (RFC 9207) must equal the metadata issuer");
    assert.ok(!consent.location.href.includes(API_KEY), "the key must not travel in the redirect");

    // ### 4. Handle Callback & Exchange Code
    // On your callback page
    const urlParams = new URLSearchParams(consent.location.search);
    const code = urlParams.get("code");
    const storedVerifier = localStorage.getItem("code_verifier");

    const tokenResponse = await fetch(`${PROVIDER}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: code,
        client_id: "yourapp.com",
        redirect_uri: "https://yourapp.com/callback",
        code_verifier: storedVerifier,
      }),
    });
    const tokenBody = await tokenResponse.text();
    assert.equal(tokenResponse.status, 200, `POST /token -> ${tokenResponse.status} ${tokenBody}`);
    assert.match(tokenResponse.headers.get("cache-control") || "", /no-store/);

    const { access_token } = JSON.parse(tokenBody);
    // access_token is the user's Parallel.ai API key
    assert.equal(access_token, API_KEY);

    // The code is single use.
    const replay = await fetch(`${PROVIDER}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        client_id: "yourapp.com",
        redirect_uri: "https://yourapp.com/callback",
        code_verifier: storedVerifier,
      }),
    });
    const replayBody = await replay.text();
    assert.equal(replay.status, 400, `replayed code -> ${replay.status} ${replayBody}`);
    assert.equal(JSON.parse(replayBody).error, "invalid_grant");
  });
});

describe("demo.html (redirect_uri = location.origin + '/', client_id = location.hostname)", () => {
  test("localhost origin -> client_id 'localhost', no state, token with client_id: location.hostname", async () => {
    const PROVIDER = worker.base;
    const localStorage = memoryStorage();
    // The page runs at http://localhost:<port>/ (nobody needs to listen there).
    const location = new URL("http://localhost:5173/");
    const API_KEY = testKey("demo");

    // async function startOAuth() {
    // Register client
    const reg = await fetch(`${PROVIDER}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ redirect_uris: [location.origin + "/"] }),
    });
    assert.ok(reg.ok, `POST /register -> ${reg.status}`);
    const { client_id } = await reg.json();
    assert.equal(client_id, "localhost");

    // Generate PKCE
    const cv = btoa(crypto.getRandomValues(new Uint8Array(32))).replace(
      /[+/=]/g,
      (m) => ({ "+": "-", "/": "_", "=": "" }[m])
    );
    localStorage.setItem("cv", cv);
    const cc = btoa(
      String.fromCharCode(
        ...new Uint8Array(
          await crypto.subtle.digest(
            "SHA-256",
            new TextEncoder().encode(cv)
          )
        )
      )
    ).replace(/[+/=]/g, (m) => ({ "+": "-", "/": "_", "=": "" }[m]));

    // Redirect
    const url = new URL(`${PROVIDER}/authorize`);
    Object.entries({
      client_id,
      redirect_uri: location.origin + "/",
      response_type: "code",
      scope: "api",
      code_challenge: cc,
      code_challenge_method: "S256",
    }).forEach(([k, v]) => url.searchParams.set(k, v));
    // location.href = url;
    const consent = await approveViaForm(PROVIDER, url, API_KEY);
    assert.equal(consent.location.origin + consent.location.pathname, "http://localhost:5173/");
    assert.equal(consent.state, null, "no state was sent, none must come back");

    // Handle callback
    const code = new URLSearchParams(consent.location.search).get("code");
    assert.ok(code);
    const data = await fetch(`${PROVIDER}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        client_id: location.hostname,
        redirect_uri: location.origin + "/",
        code_verifier: localStorage.getItem("cv"),
      }),
    }).then(async (r) => {
      const text = await r.text();
      assert.equal(r.status, 200, `POST /token -> ${r.status} ${text}`);
      return JSON.parse(text);
    });
    // alert("Got API key: " + data.access_token.substring(0, 20) + "...");
    assert.equal(data.access_token, API_KEY);
    assert.equal("Got API key: " + data.access_token.substring(0, 20) + "...", `Got API key: ${API_KEY.substring(0, 20)}...`);
  });
});
