// Ours sealed: our Worker with TOKEN_MODE=sealed (TOKEN_FORMAT=jwe, the
// default: the access token is a JWE sealed for one resource, with a rotating
// refresh token whose grant lives in the GRANTS Durable Object), and the
// example MCP server (examples/mcp-server, a Rust Worker built into its
// build/) as the resource server that opens the token with its RESOURCE_KEY.
//
// The flow: metadata -> register (a public client, token_endpoint_auth_method
// none, grant types authorization_code and refresh_token) -> consent page
// (resource = the MCP server's /mcp, scope api) -> consent POST (303 with the
// code) -> token (the resource again: a 5-part JWE access token and a refresh
// token) -> "mcp tools/call": POST /mcp `tools/call whoami` with the bearer
// token, which answers 200 with the key masked (sk-…abcd) only if the MCP
// server opened the token with its key; the mask must be the typed key's.
//
// The CPU of a sealed flow is both runtimes' workerd processes (the
// provider's and the resource server's, whose roles are "resource ...").
//
// Two more loops on the sealed provider alone, to compare a refresh with a
// consent POST request for request (per-step CPU is not measured inside a
// flow: CPU comes from /proc per measurement):
// - refresh: grant_type=refresh_token on lineages started by full sealed
//   flows before the rounds (one per client; each request rotates its
//   lineage's refresh token, and the next uses the successor);
// - consent POST: consent pages fetched beforehand, untimed and outside the
//   CPU window, then only their POSTs.

import { randomBytes } from "node:crypto";
import { join } from "node:path";

import { freePort, resourceKey } from "../../tests/e2e/worker.mjs";
import { request } from "./client.mjs";
import { oursWorkerOptions } from "./coldstart.mjs";
import { benchConfigForMcpExample, benchDevVars, readDevVars, readWranglerToml } from "./config.mjs";
import {
  FlowError,
  OURS_REDIRECT,
  b64url,
  consentPage,
  consentPageStep,
  consentPostStep,
  expectStatus,
  flowStart,
  newKey,
  pkcePair,
  timed,
  tokenStep,
} from "./flows.mjs";
import { ROOT } from "./paths.mjs";
import { startMiniflare, startWranglerRuntime } from "./runtime.mjs";

export const MCP_DIR = join(ROOT, "examples", "mcp-server");
const DISCOVERY = "/.well-known/oauth-authorization-server";
// The example's protected-resource metadata: answered once it is up.
const PRM_PATH = "/.well-known/oauth-protected-resource/mcp";

/** Our Worker's variables for the sealed runs (over wrangler.toml's and .dev.vars', which has DEV=1 for http resources). */
export const SEALED_VARS = { TOKEN_MODE: "sealed", TOKEN_FORMAT: "jwe" };
export const SEALED_STEPS = ["metadata", "register", "consent page", "consent POST", "token", "mcp tools/call"];
export const REFRESH_STEPS = ["refresh"];
export const CONSENT_POST_STEPS = ["consent POST"];

/** The SECRET our Worker runs with in the bench (.dev.vars, or .dev.vars.example). */
export function benchSecret() {
  const secret = readDevVars(benchDevVars()).SECRET;
  if (!secret) throw new Error(`no SECRET in ${benchDevVars()}`);
  return secret;
}

/**
 * Miniflare options for the built example MCP server (its entry
 * build/worker/shim.mjs, as wrangler.toml's `main`), sealed, opening tokens
 * with `key`; `dir` is the build directory (a copy of build/, for A/B runs).
 */
export function mcpWorkerOptions({ authorizationServer, key, dir = join(MCP_DIR, "build") }) {
  const toml = readWranglerToml(join(MCP_DIR, "wrangler.toml"));
  return {
    modules: [
      { type: "ESModule", path: join(dir, "worker", "shim.mjs") },
      { type: "ESModule", path: join(dir, "index.js") },
      { type: "CompiledWasm", path: join(dir, "index_bg.wasm") },
    ],
    compatibilityDate: toml.compatibilityDate,
    compatibilityFlags: toml.compatibilityFlags,
    bindings: { ...toml.vars, AUTHORIZATION_SERVER: authorizationServer, TOKEN_MODE: "sealed", RESOURCE_KEY: key },
  };
}

/** One CPU snapshot of both runtimes; the resource server's processes as "resource <role>". */
function bothCpu(provider, resource) {
  const a = provider.cpu();
  const b = resource.cpu();
  const workerd = { ...a.workerd };
  for (const [k, v] of Object.entries(b.workerd)) workerd[`resource ${k}`] = v;
  return { at: Math.max(a.at, b.at), workerd, node: a.node + b.node };
}

/**
 * Starts our Worker sealed and the example MCP server pointing at it, in
 * `mode` ("wrangler": two `wrangler dev`; "workerd": two plain workerd),
 * the MCP server's RESOURCE_KEY derived from the bench's SECRET for its own
 * http://127.0.0.1:<port>/mcp as `make resource-key` does (HKDF-SHA256, Node's
 * own). A runtime whose `base` is the provider's, `resource` the MCP URL,
 * `provider` the provider alone, and whose cpu() covers both.
 */
export async function startSealed({ mode, oursConfig, verbose = false }) {
  const secret = benchSecret();
  const provider =
    mode === "wrangler"
      ? await startWranglerRuntime({ label: "ours sealed", config: oursConfig, readyPath: DISCOVERY, vars: SEALED_VARS, verbose })
      : await startMiniflare({ label: "ours sealed", options: oursWorkerOptions(SEALED_VARS) });
  let mcp;
  try {
    const mcpVars = { AUTHORIZATION_SERVER: provider.base, TOKEN_MODE: "sealed" };
    if (mode === "wrangler") {
      mcp = await startWranglerRuntime({
        label: "example MCP server",
        config: benchConfigForMcpExample(),
        readyPath: PRM_PATH,
        vars: mcpVars,
        varsFor: (port) => ({ RESOURCE_KEY: resourceKey(secret, `http://127.0.0.1:${port}/mcp`) }),
        verbose,
      });
    } else {
      const port = await freePort();
      const key = resourceKey(secret, `http://127.0.0.1:${port}/mcp`);
      mcp = await startMiniflare({ label: "example MCP server", options: mcpWorkerOptions({ authorizationServer: provider.base, key }), port, readyPath: PRM_PATH });
    }
  } catch (e) {
    await provider.stop();
    throw e;
  }
  return {
    label: "ours sealed",
    base: provider.base,
    resource: `${mcp.base}/mcp`,
    provider,
    mcp,
    startMs: provider.startMs,
    mcpStartMs: mcp.startMs,
    cpu: () => bothCpu(provider, mcp),
    logs: () => [provider.logs(), mcp.logs()].filter(Boolean).join("\n"),
    stop: async () => {
      await mcp.stop();
      await provider.stop();
    },
  };
}

/** The sealed token response: a 5-part JWE (never the key), a refresh token. */
const sealedToken = (key) => (body) => {
  if (typeof body.access_token !== "string" || body.access_token.split(".").length !== 5) throw new FlowError("token: not a compact JWE");
  if (body.access_token.includes(key)) throw new FlowError("token: the key is in the access token");
  if (!body.refresh_token) throw new FlowError("token: no refresh token");
  if (String(body.token_type).toLowerCase() !== "bearer") throw new FlowError(`token: token_type ${body.token_type}`);
};

/** The "mcp tools/call" step: `whoami` at the MCP server, which opens the token; the masked key must be `key`'s. */
function mcpStep(times, resource, accessToken, key) {
  return timed(times, "mcp tools/call", async () => {
    const res = await request(resource, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${accessToken}`,
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "whoami", arguments: {} } }),
    });
    expectStatus("mcp tools/call", res, 200);
    const text = res.json().result?.content?.[0]?.text ?? "";
    if (!text.includes(`${key.slice(0, 3)}…${key.slice(-4)}`) || !text.includes("sealed for this server only")) {
      throw new FlowError(`mcp tools/call: not the typed key, opened: ${text.slice(0, 120)}`);
    }
  });
}

/** One sealed flow against `base` for `resource`: its times, and what a refresh needs. */
export async function sealedSession(base, resource) {
  const times = [];
  const { meta, clientId, verifier, challenge, state, key } = await flowStart(times, base, {
    token_endpoint_auth_method: "none",
    grant_types: ["authorization_code", "refresh_token"],
  });
  const page = await consentPageStep(times, meta, { clientId, challenge, state, resource, scope: "api" });
  const code = await consentPostStep(times, base, meta, page, { key, state });
  const tokens = await tokenStep(times, meta, { code, clientId, redirectUri: OURS_REDIRECT, verifier, key, resource }, sealedToken(key));
  await mcpStep(times, resource, tokens.access_token, key);
  return { times, clientId, resource, refreshToken: tokens.refresh_token };
}

/** The sealed flow as measure() runs it: `runtime` is startSealed()'s. */
export async function sealedFlow(base, runtime) {
  return (await sealedSession(base, runtime.resource)).times;
}

/** `n` refresh lineages (one sealed flow each, untimed) for refreshFlow(). */
export async function refreshLineages(runtime, n) {
  const lineages = [];
  for (let i = 0; i < n; i++) {
    const { clientId, resource, refreshToken } = await sealedSession(runtime.base, runtime.resource);
    lineages.push({ clientId, resource, refreshToken });
  }
  return lineages;
}

/**
 * A one-request flow: the refresh of a free lineage of `lineages` (at least as
 * many as the concurrency), which then holds the successor. The answer must
 * be a new JWE access token and a new refresh token.
 */
export function refreshFlow(lineages) {
  return async (base) => {
    const lineage = lineages.pop();
    if (!lineage) throw new FlowError("refresh: fewer lineages than clients");
    const times = [];
    try {
      await timed(times, "refresh", async () => {
        const res = await request(`${base}/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "refresh_token",
            refresh_token: lineage.refreshToken,
            client_id: lineage.clientId,
            resource: lineage.resource,
          }),
        });
        expectStatus("refresh", res, 200);
        const body = res.json();
        if (typeof body.access_token !== "string" || body.access_token.split(".").length !== 5) throw new FlowError("refresh: not a compact JWE");
        if (!body.refresh_token || body.refresh_token === lineage.refreshToken) throw new FlowError("refresh: no new refresh token");
        lineage.refreshToken = body.refresh_token;
      });
    } finally {
      lineages.push(lineage);
    }
    return times;
  };
}

/**
 * `n` consent pages of our Worker at `base` for `resource` (one client, a
 * fresh PKCE pair, state and key each), fetched `concurrency` at a time:
 * the forms consentPostFlow() approves.
 */
export async function consentForms(base, resource, n, concurrency = 8) {
  const meta = (await request(`${base}${DISCOVERY}`)).json();
  const clientId = (
    await request(meta.registration_endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [OURS_REDIRECT], client_name: "bench", token_endpoint_auth_method: "none", grant_types: ["authorization_code", "refresh_token"] }),
    })
  ).json().client_id;
  const forms = [];
  let started = 0;
  async function fetcher() {
    while (started < n) {
      started++;
      const state = b64url(randomBytes(9));
      const page = await consentPage(meta, { clientId, challenge: pkcePair().challenge, state, resource, scope: "api" });
      forms.push({ page, state, key: newKey() });
    }
  }
  await Promise.all(Array.from({ length: concurrency }, fetcher));
  return { meta, forms };
}

/** A one-request flow: the POST of one of `forms` (each used once), 303 with a code. */
export function consentPostFlow({ meta, forms }) {
  return async (base) => {
    const form = forms.pop();
    if (!form) throw new FlowError("consent POST: no consent page left");
    const times = [];
    await consentPostStep(times, base, meta, form.page, form);
    return times;
  };
}
