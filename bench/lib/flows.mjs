// The flows the benchmark drives, as a client would (client.mjs: redirects
// not followed, cookies by hand). Each step is timed; any unexpected answer
// throws (a failed flow). A flow is `flow(base, runtime)` -> [[step, ms], ...].
//
// - ours: metadata -> register -> consent page -> consent POST (303 with the
//   code) -> token; a fresh PKCE pair and API key per flow, and the key
//   returned by /token must be the one typed (passthrough mode).
// - original (npm parallel-oauth-provider@0.0.13): metadata -> register ->
//   GET /authorize (the page with its inline script) -> POST /store-key (what
//   that script does: the browser makes up the code and posts it with the
//   key and the PKCE challenge) -> token.
// - noop: five GET /__noop (the floor: the runtime with no provider work).
// - kvFloor: the floor with the flow's three KV operations.
//
// Ours sealed (+ the resource server's open) is in sealed.mjs, the peer's
// flow in peer.mjs; both use the steps exported here.

import { createHash, randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";

import { request } from "./client.mjs";

export const OURS_REDIRECT = "http://127.0.0.1:9/cb";
// The original accepts http only for "localhost" (no request is ever sent there).
export const ORIGINAL_REDIRECT = "http://localhost:9/cb";

export const b64url = (buf) => buf.toString("base64url");

export function pkcePair() {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(createHash("sha256").update(verifier).digest());
  return { verifier, challenge };
}

const freshKey = () => `sk-bench-${randomBytes(12).toString("hex")}`;
// BENCH_USERS=N: each flow's key is one of N users' (returning users: their
// grants object exists after their first flow); unset, a fresh key per flow
// (every flow a new user: the worst case for the Durable Object).
const USERS = Math.max(0, Number(process.env.BENCH_USERS || 0));
const POOL = Array.from({ length: USERS }, freshKey);
export const newKey = () => (USERS ? POOL[Math.floor(Math.random() * USERS)] : freshKey());

export class FlowError extends Error {}

export function expectStatus(step, res, status) {
  if (res.status !== status) throw new FlowError(`${step}: HTTP ${res.status}, expected ${status}`);
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
function htmlUnescape(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) => {
    if (e[0] === "#") return String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

export function hiddenInput(html, name) {
  const m = html.match(new RegExp(`<input[^>]*\\bname="${name}"[^>]*>`));
  const v = m && m[0].match(/\bvalue="([^"]*)"/);
  if (!v) throw new FlowError(`consent page: no hidden input ${name}`);
  return htmlUnescape(v[1]);
}

/** Runs `fn` as the step `name`, its time pushed to `times`; its value. */
export async function timed(times, name, fn) {
  const t = performance.now();
  const v = await fn();
  times.push([name, performance.now() - t]);
  return v;
}

/** The "metadata" step: the provider's metadata document. */
export function metadataStep(times, base) {
  return timed(times, "metadata", async () => {
    const res = await request(`${base}/.well-known/oauth-authorization-server`);
    expectStatus("metadata", res, 200);
    return res.json();
  });
}

/** The registration of a public client named `name` (PKCE, refresh tokens) with our redirect URI. */
export const publicClient = (name) => ({
  client_name: name,
  redirect_uris: [OURS_REDIRECT],
  token_endpoint_auth_method: "none",
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
});

/** The "register" step: dynamic client registration of `client`; the client_id. */
export function registerStep(times, meta, client) {
  return timed(times, "register", async () => {
    const res = await request(meta.registration_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(client),
    });
    expectStatus("register", res, 201);
    return res.json().client_id;
  });
}

/** The authorization request (PKCE S256) for a client, plus `extra` parameters. */
export function authorizeUrl(meta, { clientId, redirectUri, challenge, state, ...extra }) {
  const url = new URL(meta.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    ...extra,
  });
  return url;
}

/** The key must have come back as the access token (passthrough). */
const passthroughToken = (key) => (body) => {
  if (body.access_token !== key) throw new FlowError("token: not the key that was typed");
};

/**
 * The "token" step: exchanges `code` (with `resource` when given); `check(body)`
 * throws if the answer is not the expected one (default: the access token is
 * `key`). The token response's body.
 */
export function tokenStep(times, meta, { code, clientId, redirectUri, verifier, key, resource }, check = passthroughToken(key)) {
  return timed(times, "token", async () => {
    const res = await request(meta.token_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        client_id: clientId,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        ...(resource ? { resource } : {}),
      }),
    });
    expectStatus("token", res, 200);
    const body = res.json();
    check(body);
    return body;
  });
}

export const OURS_STEPS = ["metadata", "register", "consent page", "consent POST", "token"];
export const ORIGINAL_STEPS = ["metadata", "register", "authorize page", "store-key", "token"];
export const NOOP_STEPS = ["noop 1", "noop 2", "noop 3", "noop 4", "noop 5"];

/**
 * Our "consent page" step: GET /authorize (with `extra` parameters such as
 * resource and scope); the form's hidden fields and its CSRF cookie.
 */
export function consentPageStep(times, meta, { clientId, challenge, state, ...extra }) {
  return timed(times, "consent page", () => consentPage(meta, { clientId, challenge, state, ...extra }));
}

/** GET /authorize on our Worker, untimed: { request, csrf, csrfCookie }. */
export async function consentPage(meta, { clientId, challenge, state, ...extra }) {
  const url = authorizeUrl(meta, { clientId, redirectUri: OURS_REDIRECT, challenge, state, ...extra });
  const res = await request(url);
  expectStatus("consent page", res, 200);
  const html = res.text();
  const csrfCookie = res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .find((c) => c.startsWith("__Host-parallel-oauth-csrf="));
  if (!csrfCookie) throw new FlowError("consent page: no CSRF cookie");
  return { request: hiddenInput(html, "request"), csrf: hiddenInput(html, "csrf"), csrfCookie };
}

/** The code of a consent POST's redirect to OURS_REDIRECT, its `state` and `iss` checked. */
export function codeFromRedirect(res, meta, state) {
  const location = new URL(res.headers.get("location"));
  const p = location.searchParams;
  if (`${location.origin}${location.pathname}` !== OURS_REDIRECT) throw new FlowError(`consent POST: to ${location}`);
  if (p.get("state") !== state || p.get("iss") !== meta.issuer || !p.get("code")) {
    throw new FlowError(`consent POST: bad redirect parameters ${location.search}`);
  }
  return p.get("code");
}

/**
 * A flow's first two steps (metadata, its issuer checked; registration of
 * `client` redirecting to OURS_REDIRECT) and its fresh values: the PKCE
 * pair, a state and an API key.
 */
export async function flowStart(times, base, client = {}) {
  const meta = await metadataStep(times, base);
  if (meta.issuer !== base) throw new FlowError(`metadata: issuer ${meta.issuer}`);
  const clientId = await registerStep(times, meta, { redirect_uris: [OURS_REDIRECT], client_name: "bench", ...client });
  return { meta, clientId, ...pkcePair(), state: b64url(randomBytes(9)), key: newKey() };
}

/** Our "consent POST" step: approves `page` with `key`; the code (303 to the client, `state` and `iss` checked). */
export function consentPostStep(times, base, meta, page, { key, state }) {
  return timed(times, "consent POST", async () => {
    const res = await request(meta.authorization_endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        cookie: page.csrfCookie,
        origin: base,
      },
      body: new URLSearchParams({ request: page.request, csrf: page.csrf, api_key: key, action: "approve" }),
    });
    expectStatus("consent POST", res, 303);
    return codeFromRedirect(res, meta, state);
  });
}

/** One complete flow against our worker (passthrough); returns [[step, ms], ...]. */
export async function oursFlow(base) {
  const times = [];
  const { meta, clientId, verifier, challenge, state, key } = await flowStart(times, base);
  const page = await consentPageStep(times, meta, { clientId, challenge, state });
  const code = await consentPostStep(times, base, meta, page, { key, state });
  await tokenStep(times, meta, { code, clientId, redirectUri: OURS_REDIRECT, verifier, key });
  return times;
}

/** One complete flow against the original, as its consent page's script does it. */
export async function originalFlow(base) {
  const times = [];
  const meta = await metadataStep(times, base);
  const clientId = await registerStep(times, meta, { redirect_uris: [ORIGINAL_REDIRECT] });
  const { verifier, challenge } = pkcePair();
  const state = b64url(randomBytes(9));
  const key = newKey();
  await timed(times, "authorize page", async () => {
    const url = authorizeUrl(meta, { clientId, redirectUri: ORIGINAL_REDIRECT, challenge, state, scope: "api" });
    const res = await request(url);
    expectStatus("authorize page", res, 200);
    const html = res.text();
    if (!html.includes(`codeChallenge: '${challenge}'`)) throw new FlowError("authorize page: no code challenge in the page");
  });
  // What the page's script does on "Continue".
  const authCode = "auth_" + randomBytes(28).toString("hex");
  await timed(times, "store-key", async () => {
    const res = await request(new URL("/store-key", base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ authCode, apiKey: key, codeChallenge: challenge }),
    });
    expectStatus("store-key", res, 200);
    const text = res.text();
    if (text !== "OK") throw new FlowError(`store-key: ${text}`);
  });
  await tokenStep(times, meta, { code: authCode, clientId, redirectUri: ORIGINAL_REDIRECT, verifier, key });
  return times;
}

/** `steps.length` requests to the no-op route, one per step: a floor. */
async function noopRequests(base, steps) {
  const times = [];
  for (const name of steps) {
    await timed(times, name, async () => {
      const res = await request(`${base}/__noop`);
      const text = res.text();
      if (res.status !== 200 || text !== "ok") throw new FlowError(`noop: HTTP ${res.status}`);
    });
  }
  return times;
}

/** Five requests to the no-op route: the floor of a five-request flow. */
export const noopFlow = (base) => noopRequests(base, NOOP_STEPS);

/** Six: the floor of the peer's flow (five requests and the API request). */
export const NOOP6_STEPS = [...NOOP_STEPS, "noop 6"];
export const noop6Flow = (base) => noopRequests(base, NOOP6_STEPS);

export const KV_FLOOR_STEPS = ["noop 1", "noop 2", "kv put", "kv get", "kv delete"];

/**
 * The floor with the flow's store traffic (on the original's Worker, which
 * has a /__kv route): two no-op requests and three requests doing one KV
 * operation each (put, get, delete of one key), as a flow does.
 */
export async function kvFloorFlow(base) {
  const times = [];
  const key = randomBytes(16).toString("hex");
  for (const name of KV_FLOOR_STEPS) {
    await timed(times, name, async () => {
      const path = name.startsWith("noop") ? "/__noop" : `/__kv?op=${name.slice(3)}&k=${key}`;
      const res = await request(base + path);
      const text = res.text();
      if (res.status !== 200 || text !== "ok") throw new FlowError(`${name}: HTTP ${res.status}`);
    });
  }
  return times;
}
