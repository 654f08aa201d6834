// Client ID Metadata Documents against workerd: the client_id is the URL of
// a JSON document served by a local server (http on loopback is allowed only
// because .dev.vars sets DEV=1; production requires https and public hosts).

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { approveViaForm, metadata, testKey } from "./helpers.mjs";
import { freePort, startWorker } from "./worker.mjs";

let worker;
let docs;
let docBase;
const served = new Map(); // path -> { body, headers }
let fetches = 0;

before(async () => {
  const port = await freePort();
  docBase = `http://127.0.0.1:${port}`;
  docs = http.createServer((req, res) => {
    fetches += 1;
    const doc = served.get(req.url);
    if (!doc) {
      res.writeHead(404).end();
      return;
    }
    if (doc.hang) return; // never answers
    res.writeHead(doc.status ?? 200, { "content-type": "application/json", ...doc.headers }).end(doc.body);
  });
  await new Promise((ok) => docs.listen(port, "127.0.0.1", ok));
  worker = await startWorker();
});

after(async () => {
  await worker?.stop();
  docs?.close();
});

async function pkce() {
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return { verifier, challenge: Buffer.from(digest).toString("base64url") };
}

function authorizeUrl(clientId, redirectUri, challenge) {
  const url = new URL("/authorize", worker.base);
  for (const [k, v] of Object.entries({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri, code_challenge: challenge,
    code_challenge_method: "S256", state: "cimd-state", scope: "api",
  })) url.searchParams.set(k, v);
  return url;
}

test("metadata advertises client ID metadata documents", async () => {
  assert.equal((await metadata(worker.base)).client_id_metadata_document_supported, true);
});

test("a document client (port-less loopback redirect) completes the flow and is named on the consent page", async () => {
  const clientId = `${docBase}/claude-code-client-metadata`;
  served.set("/claude-code-client-metadata", {
    body: JSON.stringify({
      client_id: clientId, client_name: "Claude Code (local copy)",
      redirect_uris: ["http://localhost/callback", "http://127.0.0.1/callback"],
      token_endpoint_auth_method: "none", grant_types: ["authorization_code"],
    }),
    headers: { "cache-control": "max-age=600" },
  });
  const key = testKey("cimd");
  const redirectUri = "http://localhost:51789/callback";
  const { verifier, challenge } = await pkce();
  const { code, state, iss, html } = await approveViaForm(worker.base, authorizeUrl(clientId, redirectUri, challenge), key);
  assert.match(html, /Claude Code \(local copy\)/);
  assert.equal(state, "cimd-state");
  assert.equal(iss, worker.base);
  const res = await fetch(new URL("/token", worker.base), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code, client_id: clientId, redirect_uri: redirectUri, code_verifier: verifier }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).access_token, key);

  // Cached per Cache-Control: a second authorization does not fetch again.
  const before = fetches;
  const again = await fetch(authorizeUrl(clientId, redirectUri, challenge), { redirect: "manual" });
  assert.equal(again.status, 200);
  assert.equal(fetches, before);
});

test("a document whose client_id is not its own URL is an error page, never a redirect", async () => {
  const clientId = `${docBase}/impostor.json`;
  served.set("/impostor.json", {
    body: JSON.stringify({ client_id: "https://claude.ai/oauth/mcp-oauth-client-metadata", client_name: "Claude", redirect_uris: ["http://127.0.0.1:9/cb"] }),
    headers: {},
  });
  const { challenge } = await pkce();
  const res = await fetch(authorizeUrl(clientId, "http://127.0.0.1:9/cb", challenge), { redirect: "manual" });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("location"), null);
  const missing = await fetch(authorizeUrl(`${docBase}/missing.json`, "http://127.0.0.1:9/cb", challenge), { redirect: "manual" });
  assert.equal(missing.status, 400);
  assert.equal(missing.headers.get("location"), null);
});

test("a document URL that redirects is refused; the redirect is not followed (cimd_fetch_does_not_follow_redirects)", async () => {
  const clientId = `${docBase}/moved.json`;
  // Were the redirect followed, this document would be accepted: its client_id is the URL asked for.
  served.set("/moved.json", { status: 302, headers: { location: `${docBase}/moved-target.json` }, body: "" });
  served.set("/moved-target.json", {
    body: JSON.stringify({ client_id: clientId, client_name: "Moved", redirect_uris: ["http://127.0.0.1:9/cb"] }),
    headers: {},
  });
  const before = fetches;
  const { challenge } = await pkce();
  const res = await fetch(authorizeUrl(clientId, "http://127.0.0.1:9/cb", challenge), { redirect: "manual" });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("location"), null);
  assert.doesNotMatch(await res.text(), /Moved/);
  assert.equal(fetches - before, 1, "only the document URL itself is fetched");
});

test("a document server that never answers: the page answers after the fetch's 10 s timeout (cimd_fetch_times_out)", { timeout: 60_000 }, async () => {
  const clientId = `${docBase}/never.json`;
  served.set("/never.json", { hang: true });
  const { challenge } = await pkce();
  const t0 = performance.now();
  const res = await fetch(authorizeUrl(clientId, "http://127.0.0.1:9/cb", challenge), { redirect: "manual" });
  const waited = performance.now() - t0;
  assert.equal(res.status, 400);
  assert.equal(res.headers.get("location"), null);
  await res.text();
  assert.ok(waited >= 9_000 && waited < 30_000, `answered after ${waited.toFixed(0)} ms, expected about 10 s`);
});
