// The grants page ("Apps with access to your key") in workerd with the
// GRANTS Durable Object and Debian's chromium (playwright-core; every
// request that is not to loopback aborted). A mixed deployment
// (TOKEN_MODE=passthrough with SEALED_RESOURCES naming two MCP servers):
// two clients connect in sealed mode and one in passthrough, all in the
// browser (the first consent remembers the key); /grants with the saved
// key lists all three; "Revoke" on one ends that client's refresh at once
// while the other still refreshes. A screenshot lands in target/. Then the
// page under TOKEN_MODE=sealed, driven with fetch.

import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CookieJar, approveViaForm, decodeEntities, launchChromium, testKey } from "./helpers.mjs";
import { ROOT, startWorker } from "./worker.mjs";

const SHOTS = join(ROOT, "target");
const RESOURCE_A = "https://mcp-a.example/mcp";
const RESOURCE_B = "https://mcp-b.example/mcp";
// The clients' redirect URIs: a local listener that answers every callback.
let CALLBACK;
let callbackServer;

let mixed, sealed, browser;
before(async () => {
  callbackServer = createServer((_, res) => res.end("callback"));
  await new Promise((r) => callbackServer.listen(0, "127.0.0.1", r));
  CALLBACK = `http://127.0.0.1:${callbackServer.address().port}/callback`;
  assert.ok(existsSync(process.env.CHROMIUM || "/usr/bin/chromium"), "chromium missing: run 'make tools'");
  [mixed, sealed] = await Promise.all([
    startWorker({ vars: { TOKEN_MODE: "passthrough", SEALED_RESOURCES: `${RESOURCE_A},${RESOURCE_B}` } }),
    startWorker({ vars: { TOKEN_MODE: "sealed", DEFAULT_RESOURCE: RESOURCE_A } }),
  ]);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await mixed?.stop();
  await sealed?.stop();
  callbackServer?.close();
});

async function pkce() {
  const b64url = (bytes) => Buffer.from(bytes).toString("base64url");
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return { verifier, challenge };
}

async function register(base, name) {
  const res = await fetch(`${base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: name, redirect_uris: [`${CALLBACK}/${name}`], token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"] }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).client_id;
}

async function authorizeUrl(base, clientId, name, resource) {
  const { verifier, challenge } = await pkce();
  const u = new URL(`${base}/authorize`);
  const params = { response_type: "code", client_id: clientId, redirect_uri: `${CALLBACK}/${name}`, code_challenge: challenge, code_challenge_method: "S256", state: name, scope: "api", resource };
  for (const [k, v] of Object.entries(params)) if (v) u.searchParams.set(k, v);
  return { url: u, verifier };
}

async function token(base, fields) {
  const res = await fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: await res.json() };
}

async function exchange(base, clientId, name, code, verifier) {
  const r = await token(base, { grant_type: "authorization_code", code, client_id: clientId, redirect_uri: `${CALLBACK}/${name}`, code_verifier: verifier });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const refresh = (base, clientId, refreshToken) => token(base, { grant_type: "refresh_token", refresh_token: refreshToken, client_id: clientId });

/** Clicks a submit button of the grants page and waits for the page the POST answers. */
async function submit(page, button) {
  const answered = page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/grants");
  await (typeof button === "string" ? page.click(button) : button.click());
  const res = await answered;
  assert.equal(res.status(), 200, `POST /grants -> ${res.status()}`);
  await page.waitForLoadState("load");
}

/** Consent in the browser: returns the code the callback received. */
async function consentInBrowser(page, url, { apiKey, remember = false }) {
  const callback = new Promise((resolve) => {
    page.on("request", (req) => {
      if (req.url().startsWith(CALLBACK)) resolve(new URL(req.url()));
    });
  });
  await page.goto(url.href);
  assert.equal(await page.getAttribute("#manage", "href"), "/grants", "the consent page links to the grants page");
  if (apiKey) {
    await page.fill("#api_key", apiKey);
    if (remember) await page.check("#remember");
  } else {
    assert.equal(await page.isChecked("#key_choice_saved"), true, "the saved key is preselected");
  }
  await Promise.all([page.waitForURL((u) => u.href.startsWith(CALLBACK)), page.click("#approve")]);
  const loc = await callback;
  assert.ok(loc.searchParams.get("code"), `no code in ${loc}`);
  return loc.searchParams.get("code");
}

test("grants page: two sealed clients and one passthrough listed with the saved key; Revoke ends one client's refresh at once", async () => {
  const base = mixed.base;
  const apiKey = testKey("sk-");
  const { context } = browser;
  const page = await context.newPage();

  const clients = {};
  for (const [name, resource] of [["App-A", RESOURCE_A], ["App-B", RESOURCE_B], ["Plain-C", undefined]]) {
    const clientId = await register(base, name);
    const { url, verifier } = await authorizeUrl(base, clientId, name, resource);
    const first = Object.keys(clients).length === 0;
    const code = await consentInBrowser(page, url, first ? { apiKey, remember: true } : {});
    clients[name] = { clientId, tokens: await exchange(base, clientId, name, code, verifier) };
  }
  assert.ok(clients["App-A"].tokens.refresh_token && clients["App-B"].tokens.refresh_token, "sealed clients get a refresh token");
  assert.equal(clients["Plain-C"].tokens.access_token, apiKey, "the passthrough client gets the key");

  // The grants page (the consent page links to it), with the saved key.
  const opened = await page.goto(`${base}/grants`);
  const headers = opened.headers();
  assert.match(headers["content-security-policy"] || "", /frame-ancestors 'none'/);
  assert.match(headers["cache-control"] || "", /no-store/);
  assert.equal(headers["access-control-allow-origin"], undefined);
  assert.equal(await page.isChecked("#key_choice_saved"), true);
  await submit(page, "#show");
  await page.waitForSelector("li.grant");

  const rows = page.locator("li.grant");
  assert.equal(await rows.count(), 3, "exactly the three clients");
  const text = await page.locator("main").innerText();
  for (const [name, { clientId }] of Object.entries(clients)) {
    assert.ok(text.includes(name), `${name} listed`);
    assert.ok(text.includes(clientId), `${name}'s client id listed`);
  }
  assert.ok(text.includes(RESOURCE_A) && text.includes(RESOURCE_B));
  assert.match(text, /This app holds your API key itself/);
  assert.ok(!(await page.content()).includes(apiKey), "the key is never in the page");
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, "grants-page.png"), fullPage: true });

  // Revoke App-A.
  const rowA = rows.filter({ hasText: "App-A" });
  await submit(page, rowA.locator("button[value=revoke]"));
  const notice = await page.locator("#notice").innerText();
  assert.match(notice, /Revoked 127\.0\.0\.1/);
  assert.match(notice, /within the hour/);
  assert.ok(!(await page.content()).includes(apiKey));
  await page.screenshot({ path: join(SHOTS, "grants-page-revoked.png"), fullPage: true });

  const a = await refresh(base, clients["App-A"].clientId, clients["App-A"].tokens.refresh_token);
  assert.equal(a.status, 400);
  assert.equal(a.body.error, "invalid_grant", "the revoked client's next refresh fails");
  const b = await refresh(base, clients["App-B"].clientId, clients["App-B"].tokens.refresh_token);
  assert.equal(b.status, 200, JSON.stringify(b.body));
  assert.ok(b.body.refresh_token, "the other client still refreshes");

  // Revoke pressed twice (the browser drops the first answer for the second POST of the same form): the
  // second answer is the first one's notice over the list, never "Already used"; B is revoked once.
  const rowB = page.locator("li.grant").filter({ hasText: "App-B" });
  const body = await rowB
    .locator("button[value=revoke]")
    .evaluate((button) => new URLSearchParams(new FormData(button.form, button)).toString());
  const cookie = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join("; ");
  const form = { "content-type": "application/x-www-form-urlencoded", origin: new URL(base).origin, cookie };
  const post = () => fetch(`${base}/grants`, { method: "POST", headers: form, body }).then(async (r) => [r.status, await r.text()]);
  const answers = [await post(), await post()];
  for (const [status, html] of answers) {
    assert.equal(status, 200, html.slice(0, 1000));
    assert.match(html, /id="notice"[^>]*>[^<]*Revoked 127\.0\.0\.1/);
  }
  const bAfter = await refresh(base, clients["App-B"].clientId, b.body.refresh_token);
  assert.equal(bAfter.body.error, "invalid_grant", "the double-pressed Revoke revoked B");

  // Another key sees nothing of these.
  const other = await showWithFetch(base, testKey("sk-"));
  assert.equal(other.match(/class="request grant"/g), null);
  assert.match(other, /No app is connected with this key/);
  await page.close();
});

/** GET /grants then POST the key form with `apiKey`, as a browser would: the list's HTML. */
async function showWithFetch(base, apiKey) {
  const jar = new CookieJar();
  const page = await fetch(`${base}/grants`);
  jar.store(page);
  const html = await page.text();
  const csrf = decodeEntities(html.match(/name="csrf" value="([^"]*)"/)[1]);
  const res = await fetch(`${base}/grants`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: new URL(base).origin, ...jar.headers() },
    body: new URLSearchParams({ csrf, api_key: apiKey, action: "show" }),
  });
  const list = await res.text();
  assert.equal(res.status, 200, list.slice(0, 2000));
  return list;
}

test("grants page under TOKEN_MODE=sealed: the key's grant is listed", async () => {
  const base = sealed.base;
  const apiKey = testKey("sk-");
  const clientId = await register(base, "Sealed-S");
  const { url, verifier } = await authorizeUrl(base, clientId, "Sealed-S", undefined);
  const { code } = await approveViaForm(base, url, apiKey);
  await exchange(base, clientId, "Sealed-S", code, verifier);
  const html = await showWithFetch(base, apiKey);
  assert.equal(html.match(/class="request grant"/g)?.length, 1);
  assert.ok(html.includes(clientId) && html.includes(RESOURCE_A) && html.includes("sealed token"));
  assert.ok(!html.includes(apiKey));
});
