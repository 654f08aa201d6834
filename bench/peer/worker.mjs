// The best peer, npm @cloudflare/workers-oauth-provider@1.2.3 (installed in
// bench/node_modules by `make bench`), in a minimal Worker doing our job, for
// `make bench` to compare against:
//
//   GET  /authorize   the consent page: env.OAUTH_PROVIDER.parseAuthRequest()
//                     and lookupClient(), then a small form with an API-key
//                     field, the parsed request carried in a hidden field
//                     (as the library's 0.x examples carry it; no CSRF
//                     cookie, no consent handle in KV: the cheapest way);
//   POST /authorize   completeAuthorization() with the typed key as the
//                     grant's props, then a 302 to its redirectTo;
//   GET  /api/...     the API route (apiRoute "/api/"): the library checks
//                     the bearer token and decrypts the props; the handler
//                     answers with ctx.props.apiKey, which is how a resource
//                     server gets the key with this library;
//   GET  /__noop      "ok", before the library runs (the peer's floor);
//
// and everything else (metadata, /register, /token) is the library's.
//
// The library wants its protected resource (resourceMetadata.resource, here
// <origin>/api) on the origin the requests arrive at, and the bench serves
// it on a port it learns only at start: one OAuthProvider per origin, made
// at that origin's first request.
import { AuthorizationError, OAuthProvider } from "@cloudflare/workers-oauth-provider";

const TEXT = { "content-type": "text/plain; charset=utf-8" };
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const apiHandler = {
  fetch(request, env, ctx) {
    return new Response(ctx.props.apiKey, { headers: TEXT });
  },
};

function consentPage(oauthReqInfo, client) {
  const name = escape(client?.clientName || oauthReqInfo.clientId);
  const host = escape(new URL(oauthReqInfo.redirectUri).host);
  const scope = escape(oauthReqInfo.scope.join(" ") || "(none)");
  return `<!doctype html>
<meta charset="utf-8">
<title>Authorize ${name}</title>
<h1>Allow ${name} to use your API key?</h1>
<p>Access will be sent to <strong>${host}</strong> (scope ${scope}).</p>
<form method="post" action="/authorize">
  <input type="hidden" name="request" value="${escape(JSON.stringify(oauthReqInfo))}">
  <label>API key <input type="password" name="api_key" required autocomplete="off"></label>
  <button type="submit">Allow access</button>
</form>
`;
}

/** A user id for the key (the library wants one, without ":"): whoever holds the key. */
async function userIdFor(apiKey) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(apiKey)));
  return Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

const defaultHandler = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/authorize") return new Response("Not found", { status: 404, headers: TEXT });
    try {
      if (request.method === "GET") {
        const oauthReqInfo = await env.OAUTH_PROVIDER.parseAuthRequest(request);
        const client = await env.OAUTH_PROVIDER.lookupClient(oauthReqInfo.clientId);
        return new Response(consentPage(oauthReqInfo, client), {
          headers: { "content-type": "text/html; charset=utf-8", "x-frame-options": "DENY", "cache-control": "no-store" },
        });
      }
      if (request.method === "POST") {
        const form = await request.formData();
        const apiKey = String(form.get("api_key") ?? "");
        if (!apiKey) return new Response("an API key is required", { status: 400, headers: TEXT });
        const oauthReqInfo = JSON.parse(String(form.get("request")));
        const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
          request: oauthReqInfo,
          userId: await userIdFor(apiKey),
          metadata: {},
          scope: oauthReqInfo.scope,
          props: { apiKey },
        });
        return new Response(null, { status: 302, headers: { location: redirectTo } });
      }
      return new Response("Method not allowed", { status: 405, headers: TEXT });
    } catch (e) {
      if (e instanceof AuthorizationError) return new Response(e.description || e.message, { status: 400, headers: TEXT });
      throw e;
    }
  },
};

const providers = new Map();

function providerFor(origin) {
  let provider = providers.get(origin);
  if (!provider) {
    provider = new OAuthProvider({
      apiRoute: "/api/",
      apiHandler,
      defaultHandler,
      authorizeEndpoint: "/authorize",
      tokenEndpoint: "/token",
      clientRegistrationEndpoint: "/register",
      scopesSupported: ["api"],
      resourceMetadata: { resource: `${origin}/api`, authorization_servers: [origin] },
    });
    providers.set(origin, provider);
  }
  return provider;
}

export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === "/__noop") return new Response("ok");
    return providerFor(url.origin).fetch(request, env, ctx);
  },
};
