// Shared helpers for the e2e tests: cookie jar, HTML form parsing, consent via
// the real form (GET /authorize -> POST the form -> 303 to the redirect_uri).

import assert from "node:assert/strict";

/** A random API key that looks like a real one (letters and digits). */
export function testKey(prefix = "e2e") {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

/** Minimal cookie jar: name -> value (the server's cookies are __Host- + Secure,
 *  which fetch() does not keep for us; they are sent back by hand). */
export class CookieJar {
  constructor() {
    this.cookies = new Map();
  }
  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => {
        const [k, v = ""] = a.trim().split("=");
        return (k.toLowerCase() === "max-age" && Number(v) <= 0) ||
          (k.toLowerCase() === "expires" && Date.parse(v) < Date.now());
      });
      if (expired || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  headers() {
    return this.cookies.size ? { cookie: this.header() } : {};
  }
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", "#39": "'", "#x27": "'", "#x2F": "/", "#x2f": "/", "#47": "/" };

export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e) => {
    if (e in ENTITIES) return ENTITIES[e];
    if (e[0] === "#") {
      const cp = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(cp) ? String.fromCodePoint(cp) : m;
    }
    return m;
  });
}

function attrs(tag) {
  const out = {};
  const re = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
  let m;
  // skip the tag name
  const body = tag.replace(/^<\s*[a-zA-Z]+/, "").replace(/\/?>$/, "");
  while ((m = re.exec(body))) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? "");
  }
  return out;
}

/** The consent form: the <form> holding the csrf field; its action and hidden inputs. */
export function parseConsentForm(html) {
  const forms = [...html.matchAll(/<form\b[^>]*>[\s\S]*?<\/form>/gi)].map((m) => m[0]);
  const form = forms.find((f) => /name\s*=\s*["']?csrf\b/i.test(f));
  assert.ok(form, `no <form> with a csrf field in the consent page:\n${html.slice(0, 3000)}`);
  const formAttrs = attrs(form.match(/<form\b[^>]*>/i)[0]);
  const hidden = {};
  for (const [tag] of form.matchAll(/<input\b[^>]*>/gi)) {
    const a = attrs(tag);
    if ((a.type || "").toLowerCase() === "hidden" && a.name) hidden[a.name] = a.value ?? "";
  }
  assert.ok(hidden.request, "consent form has no hidden 'request' input");
  assert.ok(hidden.csrf, "consent form has no hidden 'csrf' input");
  return { action: formAttrs.action, method: (formAttrs.method || "get").toLowerCase(), hidden, html: form };
}

/**
 * Completes consent through the real form, as a browser would:
 * GET authorizeUrl (manual redirects, keeping cookies), parse the form, POST
 * request + csrf + api_key + action=approve with Origin and cookies, expect 303.
 * Returns { location: URL, code, state, iss, consentResponse, html }.
 */
export async function approveViaForm(base, authorizeUrl, apiKey, { jar = new CookieJar(), extra = {} } = {}) {
  const page = await fetch(authorizeUrl, { redirect: "manual", headers: { accept: "text/html", ...jar.headers() } });
  const html = await page.text();
  assert.equal(page.status, 200, `GET ${authorizeUrl} -> ${page.status} (expected the consent page)\n${html.slice(0, 2000)}`);
  assert.match(page.headers.get("content-type") || "", /text\/html/);
  jar.store(page);

  const form = parseConsentForm(html);
  assert.equal(form.method, "post", "consent form must POST");
  const action = new URL(form.action || authorizeUrl, authorizeUrl);
  assert.equal(action.origin, new URL(base).origin, `form action ${action} leaves the server`);

  const body = new URLSearchParams({ ...form.hidden, api_key: apiKey, action: "approve", ...extra });
  const res = await fetch(action, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: new URL(base).origin,
      referer: authorizeUrl.toString(),
      ...jar.headers(),
    },
    body,
  });
  const resText = await res.text();
  assert.equal(res.status, 303, `POST ${action} (approve) -> ${res.status}, expected 303\n${resText.slice(0, 2000)}`);
  jar.store(res);
  const locHeader = res.headers.get("location");
  assert.ok(locHeader, "303 without Location");
  const location = new URL(locHeader, action);
  const q = location.searchParams;
  assert.equal(q.get("error"), null, `consent redirected with error: ${location}`);
  assert.ok(q.get("code"), `no code in ${location}`);
  return { location, code: q.get("code"), state: q.get("state"), iss: q.get("iss"), consentResponse: page, html, jar };
}

/**
 * A whole code flow as a public client would run it: register (`clientName`,
 * redirect http://127.0.0.1:6277/cb), PKCE S256, consent through the form
 * with `apiKey`, then /token. `params` go on the authorize URL (resource,
 * scope…). Returns { tokens, clientId, ms } (`ms`: how long /token took) after
 * asserting /token's status is `status`.
 */
export async function codeFlow(base, apiKey, { clientName = "e2e", params = {}, status = 200 } = {}) {
  const redirect = "http://127.0.0.1:6277/cb";
  const reg = await (await fetch(`${base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [redirect], client_name: clientName, token_endpoint_auth_method: "none" }),
  })).json();
  const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const challenge = Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))).toString("base64url");
  const authUrl = new URL(`${base}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: "code", client_id: reg.client_id, redirect_uri: redirect, code_challenge: challenge,
    code_challenge_method: "S256", state: "flow", ...params,
  })) authUrl.searchParams.set(k, v);
  const consent = await approveViaForm(base, authUrl, apiKey);
  const t0 = performance.now();
  const res = await fetch(`${base}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code", code: consent.code, client_id: reg.client_id, redirect_uri: redirect, code_verifier: verifier,
    }),
  });
  const tokens = await res.json();
  assert.equal(res.status, status, JSON.stringify(tokens));
  return { tokens, clientId: reg.client_id, ms: performance.now() - t0, code: consent.code, verifier, redirect };
}

export async function metadata(base) {
  const res = await fetch(new URL("/.well-known/oauth-authorization-server", base));
  assert.equal(res.status, 200);
  return res.json();
}

/**
 * An in-memory OAuthClientProvider for the MCP TypeScript SDK, as a
 * browser-less MCP client keeps things: client information, the PKCE
 * verifier and the tokens, in `store`. redirectToAuthorization records
 * `authorizationUrl` (a URL) and then awaits `onRedirect(url)` when given
 * (where a real client would open a browser, a test may complete consent).
 */
export class MemoryOAuthClientProvider {
  constructor({ redirectUrl, clientName, grantTypes = ["authorization_code"], onRedirect }) {
    this._redirectUrl = redirectUrl;
    this._clientName = clientName;
    this._grantTypes = grantTypes;
    this._onRedirect = onRedirect;
    this._state = "mcp-e2e-" + crypto.randomUUID();
    this.store = {};
    this.authorizationUrl = null;
  }
  get redirectUrl() {
    return this._redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: this._clientName,
      redirect_uris: [this._redirectUrl],
      grant_types: this._grantTypes,
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    return this._state;
  }
  clientInformation() {
    return this.store.client;
  }
  saveClientInformation(info) {
    this.store.client = info;
  }
  tokens() {
    return this.store.tokens;
  }
  saveTokens(tokens) {
    this.store.tokens = tokens;
  }
  saveCodeVerifier(v) {
    this.store.verifier = v;
  }
  codeVerifier() {
    return this.store.verifier;
  }
  // Where discovery led (SDK v2 checks the callback against it, SEP-2352).
  saveDiscoveryState(state) {
    this.store.discovery = state;
  }
  discoveryState() {
    return this.store.discovery;
  }
  async redirectToAuthorization(url) {
    this.authorizationUrl = new URL(url);
    await this._onRedirect?.(this.authorizationUrl);
  }
}

// ---------------------------------------------------------------- processes and a browser
// Used by inspector.test.mjs; additive to the helpers above.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const groups = new Set(); // process group ids started by startProcess()
const killGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
};
process.on("exit", () => {
  for (const pid of groups) killGroup(pid, "SIGKILL");
});

/**
 * Spawns `command args` in its own process group (killed by stop(), and at
 * the latest when this process exits), collecting stdout and stderr.
 * Returns { child, pid, out(), err(), exited (a promise of { code, signal }),
 * waitFor(re, ms) (resolves to the first match in the combined output),
 * stop() }.
 */
export function startProcess(command, args, { cwd, env = process.env, verbose = !!process.env.E2E_VERBOSE, name = command } = {}) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  groups.add(child.pid);
  child.unref();
  child.stdout.unref();
  child.stderr.unref();
  let stdout = "";
  let stderr = "";
  const waiters = new Set();
  const check = () => {
    for (const w of waiters) {
      const m = (stdout + stderr).match(w.re);
      if (m) {
        waiters.delete(w);
        w.resolve(m);
      }
    }
  };
  child.stdout.on("data", (c) => {
    stdout += c;
    if (verbose) process.stderr.write(`[${name}] ${c}`);
    check();
  });
  child.stderr.on("data", (c) => {
    stderr += c;
    if (verbose) process.stderr.write(`[${name}] ${c}`);
    check();
  });
  let exitInfo = null;
  const exited = new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      exitInfo = { code, signal };
      groups.delete(child.pid);
      for (const w of waiters) w.reject(new Error(`${name} exited (${JSON.stringify(exitInfo)}) before printing ${w.re}`));
      waiters.clear();
      resolve(exitInfo);
    }),
  );
  const waitFor = (re, ms = 60_000) =>
    new Promise((resolve, reject) => {
      const w = { re, resolve, reject };
      if (exitInfo) return reject(new Error(`${name} exited (${JSON.stringify(exitInfo)}) before printing ${re}`));
      waiters.add(w);
      check();
      setTimeout(() => {
        if (waiters.delete(w)) reject(new Error(`${name} did not print ${re} within ${ms} ms`));
      }, ms).unref();
    });
  const stop = async () => {
    if (!exitInfo) {
      killGroup(child.pid, "SIGTERM");
      const timer = setTimeout(() => killGroup(child.pid, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup(child.pid, "SIGKILL"); // stragglers (workerd) in the group
    groups.delete(child.pid);
  };
  return { child, pid: child.pid, out: () => stdout, err: () => stderr, exited, waitFor, stop };
}

/** Polls `url` until `ready(res)` (200 by default); throws with `logs()` after `ms`
 *  or when `proc` (a startProcess() result) exits first. */
export async function waitUntilReady(url, { proc, ms = 180_000, ready = (res) => res.status === 200, logs = () => "" } = {}) {
  const deadline = Date.now() + ms;
  let last = null;
  let gone = null;
  proc?.exited.then((info) => (gone = info));
  while (true) {
    if (gone) throw new Error(`exited (${JSON.stringify(gone)}) before ${url} was ready\n--- output ---\n${logs()}`);
    if (Date.now() > deadline) throw new Error(`${url} not ready after ${ms} ms: ${last}\n--- output ---\n${logs()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      if (ready(res)) return;
      last = `-> ${res.status}`;
    } catch (e) {
      last = e?.cause?.code || e?.message || String(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Debian's chromium through playwright-core (never a downloaded browser),
 * headless, with a fresh profile; every request that is not to loopback is
 * aborted and listed in `blocked`. Returns { context, blocked, close() }.
 */
export async function launchChromium({
  executablePath = process.env.CHROMIUM || "/usr/bin/chromium",
  timeout = 20_000,
  viewport,
  blocked = [],
} = {}) {
  const { chromium } = await import("playwright-core");
  const userDataDir = mkdtempSync(join(tmpdir(), "pop-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    ...(viewport ? { viewport } : {}),
  });
  context.setDefaultTimeout(timeout);
  await context.route("**", (route) => {
    const url = new URL(route.request().url());
    if (["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, blocked, close };
}
