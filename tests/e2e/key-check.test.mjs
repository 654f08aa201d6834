// The key check (KEY_CHECK_URL) against workerd: a small local HTTP server
// stands in for the platform's API (it accepts the keys it knows and
// answers 401 to others, and records which header carried each key); the
// worker is started with --var KEY_CHECK_URL pointing at it (and DEV=1, for
// http on loopback), as `make dev KEY_CHECK_URL=... DEV=1` does. In headless
// Chromium a person types a wrong key and sees the message with the form
// still there, then the right key and gets back to the app with a code;
// later, with a second worker (a fresh isolate, so no cached verdict) that
// sends `authorization: Bearer`, the saved key the platform has since
// revoked is refused and forgotten, and a slow platform is cut at
// KEY_CHECK_TIMEOUT_MS without blocking sign-in. Only loopback traffic
// leaves the browser.

import assert from "node:assert/strict";
import http from "node:http";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, before, test } from "node:test";
import { approveViaForm, launchChromium, testKey } from "./helpers.mjs";
import { freePort, ROOT, startWorker } from "./worker.mjs";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = join(ROOT, "target");
const TIMEOUT = 20_000;
const MESSAGE = "Parallel.ai did not accept this key. Check that you copied all of it.";
const CHECK_PATH = "/v1/check";
const CHECK_QUERY = "?probe=cheap";
const SLOW_MS = 5_000;
const TIMEOUT_MS = 500;

// ---- the stand-in platform API

const valid = new Set(); // keys it accepts
const down = new Set(); // keys it answers 503 for (an outage)
const slow = new Set(); // keys it answers only after SLOW_MS
const calls = []; // { method, url, headers, bodyBytes, carriedBy: [header names holding a known key], key }
const known = new Set(); // every key a test uses, to find it in any header

let api, apiBase;

function keyOf(headers) {
  const bearer = /^Bearer (.+)$/.exec(headers.authorization || "");
  return headers["x-api-key"] ?? bearer?.[1] ?? null;
}

function startApi() {
  api = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on("data", (c) => (bodyBytes += c.length));
    req.on("end", () => {
      const key = keyOf(req.headers);
      const carriedBy = Object.entries(req.headers)
        .filter(([, v]) => [...known].some((k) => String(v).includes(k)))
        .map(([name]) => name);
      calls.push({ method: req.method, url: req.url, headers: req.headers, bodyBytes, carriedBy, key });
      const send = (status) => {
        if (res.destroyed) return;
        res.writeHead(status, { "content-type": "application/json", "set-cookie": "platform=1; Path=/" });
        // A body bigger than anyone should read: the worker cancels it unread.
        res.end(JSON.stringify({ status, padding: "x".repeat(64 * 1024) }));
      };
      if (req.url !== CHECK_PATH + CHECK_QUERY) return send(404);
      if (key && slow.has(key)) return setTimeout(() => send(200), SLOW_MS);
      if (key && down.has(key)) return send(503);
      send(key && valid.has(key) ? 200 : 401);
    });
  });
  return new Promise((ok) => api.listen(apiPort, "127.0.0.1", ok));
}

function newKey(prefix, { accepted = false } = {}) {
  const key = testKey(prefix);
  known.add(key);
  if (accepted) valid.add(key);
  return key;
}

// ---- the browser

let context, browser, apiPort;
const blocked = [];
const workers = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: run 'make tools' (apt-get install chromium)`);
  apiPort = await freePort();
  apiBase = `http://127.0.0.1:${apiPort}`;
  await startApi();
  browser = await launchChromium({ executablePath: CHROMIUM, timeout: TIMEOUT, viewport: { width: 1280, height: 900 }, blocked });
  context = browser.context;
});

after(async () => {
  await browser?.close();
  for (const w of workers) await w.stop();
  api?.closeAllConnections?.();
  api?.close();
  if (blocked.length) console.log(`# blocked non-loopback requests: ${blocked.join(", ")}`);
});

async function startChecked(vars) {
  const w = await startWorker({ vars: { DEV: "1", KEY_CHECK_URL: apiBase + CHECK_PATH + CHECK_QUERY, ...vars } });
  workers.push(w);
  return w;
}

const isConsentPost = (r) => r.request().method() === "POST" && new URL(r.url()).pathname === "/authorize";
const isConsentPage = (r) => r.request().method() === "GET" && r.request().resourceType() === "document" && new URL(r.url()).pathname === "/authorize";

/** From the demo page of `base` to its consent page. */
async function openConsent(page, base) {
  await page.goto(`${base}/demo/`);
  const [consent] = await Promise.all([page.waitForResponse(isConsentPage), page.click("#login")]);
  assert.equal(consent.status(), 200, `consent page ${consent.url()}`);
  await page.waitForSelector("#approve");
}

/** Clicks Allow and expects the page back (400) with the message. */
async function approveRefused(page) {
  const [post] = await Promise.all([page.waitForResponse(isConsentPost), page.click("#approve")]);
  assert.equal(post.status(), 400, "the consent POST answers 400");
  assert.equal(post.headers()["location"], undefined, "no redirect, so no code");
  await page.waitForSelector(".alert");
  assert.equal((await page.locator("[role=alert]").textContent()).trim(), MESSAGE);
  assert.equal(new URL(page.url()).pathname, "/authorize", "still on the consent page");
  assert.equal(await page.inputValue("#api_key"), "", "the key field is empty");
  assert.ok(await page.isVisible("#approve"), "the form is still there");
  return post;
}

/** Clicks Allow and expects to be back on the demo page with the key. */
async function approveAccepted(page, apiKey) {
  const [post] = await Promise.all([page.waitForResponse(isConsentPost), page.click("#approve")]);
  assert.equal(post.status(), 303, `consent POST -> ${post.status()}: ${(await post.text().catch(() => "")).slice(0, 500)}`);
  const location = new URL(post.headers()["location"]);
  assert.ok(location.searchParams.get("code"), `a code in ${location}`);
  await page.waitForFunction(
    (prefix) => document.querySelector("#result")?.textContent.includes(prefix),
    "Got API key: " + apiKey.slice(0, 6),
  );
  return post;
}

/** Every call the stand-in API got for `key` (from the `since`th on): a GET
 *  of KEY_CHECK_URL with the key in `header` (as `format(key)`) and in no
 *  other header, no body, no cookie (the stand-in sets one on every answer). */
function assertCalls(key, header, format, since = 0) {
  const mine = calls.slice(since).filter((c) => c.carriedBy.length && c.key === key);
  assert.ok(mine.length >= 1, `the platform was asked about ${key.slice(0, 6)}…`);
  for (const c of mine) {
    assert.equal(c.method, "GET");
    assert.equal(c.url, CHECK_PATH + CHECK_QUERY);
    assert.deepEqual(c.carriedBy, [header], `only ${header} carries the key (headers: ${Object.keys(c.headers)})`);
    assert.equal(c.headers[header], format(key));
    assert.equal(c.headers.cookie, undefined, "no cookie");
    assert.equal(c.bodyBytes, 0, "no body");
  }
  return mine.length;
}

function assertLogsFreeOfKeys(worker) {
  const logs = worker.logs();
  for (const key of known) assert.ok(!logs.includes(key), `a key is in the worker's log:\n${logs}`);
}

test("a wrong key shows the message on the page and issues nothing; the right key completes; a revoked saved key is forgotten; an outage does not block sign-in", async (t) => {
  const started = performance.now();
  const right = newKey("kcR", { accepted: true });
  const wrong = right.slice(0, -1); // a paste one character short
  known.add(wrong);
  const page = await context.newPage();
  mkdirSync(SHOTS, { recursive: true });

  // ---- worker A: the default header (x-api-key)
  const a = await startChecked({});

  await t.test("a wrong key: the message, the form still there, then the right key", async () => {
    await openConsent(page, a.base);
    await page.fill("#api_key", wrong);
    await page.check("#remember");
    const post = await approveRefused(page);
    assert.ok(!(await post.text()).includes(wrong), "the key is not in the page");
    assert.equal(await page.isChecked("#remember"), true, "the rest of the form as posted");
    const cookies = await context.cookies(a.base);
    assert.ok(!cookies.some((c) => c.name === "__Host-parallel-oauth-key"), "no remember cookie");
    await page.screenshot({ path: join(SHOTS, "consent-page-key-refused.png"), fullPage: true });

    await page.fill("#api_key", right);
    await approveAccepted(page, right);
    assert.ok((await context.cookies(a.base)).some((c) => c.name === "__Host-parallel-oauth-key"), "remembered");
    assertCalls(wrong, "x-api-key", (k) => k);
    assertCalls(right, "x-api-key", (k) => k);
  });

  await t.test("a retried consent with the same key asks the platform once (60 s cache)", async () => {
    const before = calls.length;
    for (let i = 0; i < 2; i++) await approveViaForm(a.base, authorizeUrl(a.base, `retry-${i}`), right);
    assert.equal(calls.length, before, "the verdict of the first consent was kept");
  });

  await t.test("an outage (503) does not block sign-in, and is logged without the key", async () => {
    const outage = newKey("kcD");
    down.add(outage);
    const { code } = await approveViaForm(a.base, authorizeUrl(a.base, "outage"), outage);
    assert.ok(code);
    assertCalls(outage, "x-api-key", (k) => k);
    await waitForLog(a, /key check at http:\/\/127\.0\.0\.1:\d+\/v1\/check gave no verdict \(status 503\)/);
    const lines = a.logs().split("\n").filter((l) => l.includes("key check at"));
    assert.ok(lines.length && lines.every((l) => !l.includes("probe=cheap")), `the URL's query is not logged: ${lines}`);
    assertLogsFreeOfKeys(a);
  });
  await a.stop();

  // ---- worker B: a fresh isolate (nothing cached), authorization: Bearer, a 500 ms limit
  const b = await startChecked({ KEY_CHECK_HEADER: "authorization", KEY_CHECK_TIMEOUT_MS: String(TIMEOUT_MS) });
  const second = newKey("kcS", { accepted: true });
  const sinceB = calls.length;

  await t.test("the saved key, since revoked by the platform: forgotten, and a new key asked for", async () => {
    valid.delete(right); // revoked in the dashboard
    await openConsent(page, b.base); // the remember cookie is for 127.0.0.1, any port
    assert.equal(await page.isChecked("#key_choice_saved"), true, "the saved key is offered");
    await approveRefused(page);
    assert.equal(await page.locator("#key_choice_saved").count(), 0, "no saved key offered any more");
    const cookies = await context.cookies(b.base);
    assert.ok(!cookies.some((c) => c.name === "__Host-parallel-oauth-key"), "the remember cookie is cleared");
    await page.screenshot({ path: join(SHOTS, "consent-page-saved-key-revoked.png"), fullPage: true });
    assertCalls(right, "authorization", (k) => `Bearer ${k}`, sinceB);

    await page.fill("#api_key", second);
    await approveAccepted(page, second);
    assertCalls(second, "authorization", (k) => `Bearer ${k}`, sinceB);
  });

  await t.test("a platform slower than KEY_CHECK_TIMEOUT_MS is cut there; sign-in completes", async () => {
    const sluggish = newKey("kcT");
    slow.add(sluggish);
    await openConsent(page, b.base);
    await page.fill("#api_key", sluggish);
    const t0 = performance.now();
    await approveAccepted(page, sluggish);
    const took = performance.now() - t0;
    assert.ok(took < SLOW_MS - 1_000, `sign-in took ${Math.round(took)} ms; the platform answers after ${SLOW_MS} ms`);
    await waitForLog(b, /gave no verdict \(timeout: no status within 500 ms\)/);
    assertCalls(sluggish, "authorization", (k) => `Bearer ${k}`, sinceB);
    assertLogsFreeOfKeys(b);
  });

  assert.ok(calls.every((c) => c.url === CHECK_PATH + CHECK_QUERY), "keys reach only KEY_CHECK_URL");
  assert.deepEqual(blocked, [], "nothing left loopback");
  await page.close();
  console.log(`# key-check e2e: ${Math.round(performance.now() - started)} ms, ${calls.length} calls to the stand-in API; ` +
    `headers the worker sent: ${[...new Set(calls.flatMap((c) => Object.keys(c.headers)))].sort().join(", ")}`);
});

/** /authorize for the original recipe's client (client_id = its host);
 *  the 303 to it is never followed (fetch with redirect: manual). */
function authorizeUrl(base, state) {
  const url = new URL("/authorize", base);
  for (const [k, v] of Object.entries({
    response_type: "code", client_id: "yourapp.com", redirect_uri: "https://yourapp.com/callback", scope: "api",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", code_challenge_method: "S256", state,
  })) url.searchParams.set(k, v);
  return url;
}

async function waitForLog(worker, re) {
  const deadline = Date.now() + 5_000;
  while (!re.test(worker.logs())) {
    if (Date.now() > deadline) assert.fail(`no log line matching ${re}:\n${worker.logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
