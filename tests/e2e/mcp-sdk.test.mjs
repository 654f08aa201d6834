// The MCP TypeScript SDK's client auth() (what MCP Inspector, Claude Code and
// many MCP clients run) against the real worker: discovery, dynamic client
// registration, PKCE, consent through the real form, token exchange.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { auth } from "@modelcontextprotocol/sdk/client/auth.js";
import { MemoryOAuthClientProvider, approveViaForm, testKey } from "./helpers.mjs";
import { startWorker } from "./worker.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

test("MCP SDK auth(): REDIRECT, consent via the form, then AUTHORIZED with the key as access_token", async () => {
  const apiKey = testKey("mcp");
  const redirectUrl = "http://127.0.0.1:33418/callback";
  // redirectToAuthorization completes consent through the real form.
  const provider = new MemoryOAuthClientProvider({
    redirectUrl,
    clientName: "e2e MCP SDK client",
    onRedirect: async (url) => {
      provider.callback = await approveViaForm(worker.base, url, apiKey);
    },
  });
  const seen = [];
  const fetchFn = async (input, init) => {
    const res = await fetch(input, init);
    seen.push(`${init?.method || "GET"} ${new URL(input instanceof Request ? input.url : input).pathname} -> ${res.status}`);
    return res;
  };

  const first = await auth(provider, { serverUrl: worker.base, fetchFn });
  assert.equal(first, "REDIRECT", `requests: ${seen.join(", ")}`);

  // Registration: client_id issued, no null fields (the SDK's schema rejects them).
  const client = provider.store.client;
  assert.ok(client?.client_id, "dynamic registration must return a client_id");
  for (const [k, v] of Object.entries(client)) assert.notEqual(v, null, `registration field ${k} is null`);

  // The authorization request the SDK built.
  const q = provider.authorizationUrl.searchParams;
  assert.equal(q.get("response_type"), "code");
  assert.equal(q.get("code_challenge_method"), "S256");
  assert.equal(q.get("redirect_uri"), redirectUrl);
  assert.equal(q.get("client_id"), client.client_id);

  // The consent's 303 back to the client.
  const cb = provider.callback;
  assert.ok(cb, "redirectToAuthorization did not complete consent");
  assert.equal(cb.location.origin + cb.location.pathname, redirectUrl);
  assert.equal(cb.state, provider.state());
  const meta = await (await fetch(`${worker.base}/.well-known/oauth-authorization-server`)).json();
  assert.equal(cb.iss, meta.issuer, "iss must be the metadata issuer (RFC 9207)");
  assert.ok(!meta.issuer.endsWith("/"), `issuer must have no trailing slash: ${meta.issuer}`);

  const second = await auth(provider, { serverUrl: worker.base, authorizationCode: cb.code, fetchFn });
  assert.equal(second, "AUTHORIZED", `requests: ${seen.join(", ")}`);
  assert.equal(provider.tokens().access_token, apiKey);
  assert.match(String(provider.tokens().token_type), /^bearer$/i);
});
