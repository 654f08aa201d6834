// Helpers for the security and load e2e tests: raw access to each endpoint
// (no redirects followed, cookies by hand) and assertions of the exact
// secure outcome: an error page, an error redirect, or a JSON error.

import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { CookieJar, parseConsentForm } from "./helpers.mjs";

export const FORM = "application/x-www-form-urlencoded";
export const REDIRECT = "https://yourapp.com/callback";

export const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** A fresh S256 PKCE pair. */
export function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash("sha256").update(verifier).digest()) };
}

export function authorizeUrl(base, params) {
  const u = new URL("/authorize", base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  return u;
}

/** The usual valid authorization request (README recipe). */
export function authParams({ client_id = "yourapp.com", redirect_uri = REDIRECT, challenge, state = "st-1", ...rest } = {}) {
  return {
    response_type: "code",
    client_id,
    redirect_uri,
    code_challenge: challenge ?? pkce().challenge,
    code_challenge_method: "S256",
    state,
    scope: "api",
    ...rest,
  };
}

export async function get(url, headers = {}) {
  const res = await fetch(url, { redirect: "manual", headers });
  return { res, text: await res.text() };
}

export async function post(url, body, { type = FORM, headers = {} } = {}) {
  const h = { ...headers };
  if (type) h["content-type"] = type;
  const res = await fetch(url, { method: "POST", redirect: "manual", headers: h, body });
  return { res, text: await res.text() };
}

/** GET /authorize as a browser (cookies from `jar`, kept back in it). */
export async function consentPage(base, params, jar = new CookieJar(), headers = {}) {
  const { res, text } = await get(authorizeUrl(base, params), { accept: "text/html", ...jar.headers(), ...headers });
  jar.store(res);
  return { res, text, jar };
}

/** POSTs the consent form of `page` with `fields`, as our own page would. */
export async function answer(base, page, fields, jar, headers = {}) {
  const form = parseConsentForm(page.text);
  const body = new URLSearchParams({ ...form.hidden, ...fields });
  const r = await post(new URL("/authorize", base), body, {
    headers: { origin: new URL(base).origin, "sec-fetch-site": "same-origin", ...jar.headers(), ...headers },
  });
  jar.store(r.res);
  return r;
}

/** Runs consent with a typed key; returns the code and the 303. */
export async function approve(base, params, apiKey, { jar = new CookieJar(), extra = {} } = {}) {
  const page = await consentPage(base, params, jar);
  assert.equal(page.res.status, 200, `consent page: ${page.res.status} ${page.text.slice(0, 500)}`);
  const r = await answer(base, page, { api_key: apiKey, action: "approve", ...extra }, jar);
  assert.equal(r.res.status, 303, `approve: ${r.res.status} ${r.text.slice(0, 500)}`);
  const location = new URL(r.res.headers.get("location"));
  const code = location.searchParams.get("code");
  assert.ok(code, `no code in ${location}`);
  return { code, location, jar, page, res: r.res };
}

export function tokenBody({ code, client_id = "yourapp.com", redirect_uri = REDIRECT, verifier, ...rest }) {
  const p = new URLSearchParams({ grant_type: "authorization_code", code, client_id, redirect_uri, code_verifier: verifier });
  for (const [k, v] of Object.entries(rest)) p.append(k, v);
  return p.toString();
}

export async function token(base, body, opts = {}) {
  return post(new URL("/token", base), body, opts);
}

export async function register(base, metadata, { type = "application/json" } = {}) {
  return post(new URL("/register", base), typeof metadata === "string" ? metadata : JSON.stringify(metadata), { type });
}

/** An error page: the status, HTML, no redirect, cannot be framed. */
export function assertPage({ res, text }, status, what) {
  assert.equal(res.status, status, `${what}: ${res.status} ${text.slice(0, 300)}`);
  assert.equal(res.headers.get("location"), null, `${what}: an error page must not redirect`);
  assert.match(res.headers.get("content-type") || "", /^text\/html/, what);
  assertUnframeable(res, what);
}

export function assertUnframeable(res, what) {
  assert.match(res.headers.get("content-security-policy") || "", /frame-ancestors 'none'/, `${what}: CSP`);
  assert.equal(res.headers.get("x-frame-options"), "DENY", what);
}

/** A JSON error with the RFC code, not cacheable, no cookie. */
export function assertJsonError({ res, text }, status, error, what) {
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${what}: not JSON (${res.status}): ${text.slice(0, 300)}`);
  }
  assert.equal(res.status, status, `${what}: ${res.status} ${text}`);
  assert.equal(body.error, error, `${what}: ${text}`);
  assert.equal(typeof body.error_description, "string", what);
  assert.match(res.headers.get("content-type") || "", /^application\/json/, what);
  assert.equal(res.headers.get("cache-control"), "no-store", what);
  assert.equal(res.headers.get("set-cookie"), null, `${what}: sets a cookie`);
  assert.equal(res.headers.get("location"), null, what);
}

/** A 302 to `redirect` with `error`, `state` and `iss`, and no code. */
export function assertErrorRedirect({ res, text }, { redirect, error, state, iss }, what) {
  assert.equal(res.status, 302, `${what}: ${res.status} ${text.slice(0, 300)}`);
  const loc = res.headers.get("location");
  assertCleanLocation(loc, what);
  const u = new URL(loc);
  assert.equal(u.origin + u.pathname, redirect, what);
  assert.equal(u.searchParams.get("error"), error, `${what}: ${loc}`);
  assert.equal(u.searchParams.get("state"), state, what);
  assert.equal(u.searchParams.get("iss"), iss, what);
  assert.equal(u.searchParams.get("code"), null, what);
}

export function assertCleanLocation(loc, what) {
  if (loc == null) return;
  assert.ok(!/[\x00-\x1f\x7f]/.test(loc), `${what}: control character in Location ${JSON.stringify(loc)}`);
  assert.ok(/^[\x20-\x7e]*$/.test(loc), `${what}: non-ASCII Location`);
}

/** Runs `fn` over `items` with at most `n` at a time. */
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}
