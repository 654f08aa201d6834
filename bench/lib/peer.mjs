// The best peer: npm @cloudflare/workers-oauth-provider@1.2.3 in a minimal
// Worker doing our job (bench/peer/worker.mjs), and its flow:
//
//   metadata -> register (a public client, token_endpoint_auth_method none)
//   -> consent page (GET /authorize, PKCE S256, resource <origin>/api, scope
//   api) -> consent POST (the form with the key: 302 with the code, state
//   and iss checked) -> token (authorization_code + code_verifier) -> one
//   resource request (GET /api/key with the bearer token: the body must be
//   the key that was typed).
//
// The library's tokens are opaque (<user>:<grant>:<secret>); the resource
// request is where the library looks the token up in KV and decrypts the
// grant's props, which is what our sealed flow's resource server does by
// opening the token itself.

import { join } from "node:path";

import { request } from "./client.mjs";
import { bundleWorker } from "./coldstart.mjs";
import { readWranglerToml } from "./config.mjs";
import {
  FlowError,
  OURS_REDIRECT,
  authorizeUrl,
  codeFromRedirect,
  expectStatus,
  flowStart,
  hiddenInput,
  timed,
  tokenStep,
} from "./flows.mjs";
import { ROOT } from "./paths.mjs";

export const PEER_DIR = join(ROOT, "bench", "peer");
export const PEER_CONFIG = join(PEER_DIR, "wrangler.toml");
export const PEER_STEPS = ["metadata", "register", "consent page", "consent POST", "token", "api request"];

/** Bundles bench/peer/worker.mjs (as wrangler would); Miniflare options for it. */
export async function peerWorkerOptions() {
  const scriptPath = await bundleWorker(join(PEER_DIR, "worker.mjs"), "peer");
  const toml = readWranglerToml(PEER_CONFIG);
  return {
    modules: true,
    scriptPath,
    compatibilityDate: toml.compatibilityDate,
    compatibilityFlags: toml.compatibilityFlags,
    kvNamespaces: ["OAUTH_KV"],
    bindings: toml.vars,
  };
}

/** One complete flow against the peer; returns [[step, ms], ...]. */
export async function peerFlow(base) {
  const times = [];
  const { meta, clientId, verifier, challenge, state, key } = await flowStart(times, base, {
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
  });
  const resource = `${base}/api`;
  const form = await timed(times, "consent page", async () => {
    const res = await request(authorizeUrl(meta, { clientId, redirectUri: OURS_REDIRECT, challenge, state, resource, scope: "api" }));
    expectStatus("consent page", res, 200);
    return hiddenInput(res.text(), "request");
  });
  const code = await timed(times, "consent POST", async () => {
    const res = await request(meta.authorization_endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
      body: new URLSearchParams({ request: form, api_key: key }),
    });
    expectStatus("consent POST", res, 302);
    return codeFromRedirect(res, meta, state);
  });
  const tokens = await tokenStep(times, meta, { code, clientId, redirectUri: OURS_REDIRECT, verifier, key, resource }, (body) => {
    if (!body.access_token || body.access_token.includes(key)) throw new FlowError("token: no opaque access token");
    if (!body.refresh_token) throw new FlowError("token: no refresh token");
  });
  await timed(times, "api request", async () => {
    const res = await request(`${base}/api/key`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expectStatus("api request", res, 200);
    if (res.text() !== key) throw new FlowError("api request: not the key that was typed");
  });
  return times;
}
