// The MCP TypeScript SDK v2's client (@modelcontextprotocol/client, the split
// package that follows @modelcontextprotocol/sdk 1.x) against the example MCP
// server and the provider in workerd: 401 -> discovery -> registration ->
// consent through the real form -> finishAuth with the callback's parameters
// (v2 checks RFC 9207's `iss` against the metadata) -> tools/call whoami; in
// sealed mode also the SDK's refresh on a 401 and refreshAuthorization().

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  discoverAuthorizationServerMetadata,
  refreshAuthorization,
} from "@modelcontextprotocol/client";
import { MemoryOAuthClientProvider, approveViaForm, testKey } from "./helpers.mjs";
import { startBothModes } from "./worker.mjs";

let passthroughMcp, sealed, sealedMcp, both;
before(async () => {
  both = await startBothModes();
  ({ passthroughMcp, sealed, sealedMcp } = both);
});
after(async () => {
  await both?.stop();
});

/** A v2 client through the whole OAuth flow; returns it connected. */
async function connect(mcp, apiKey, log) {
  const authProvider = new MemoryOAuthClientProvider({
    redirectUrl: "http://127.0.0.1:6276/oauth/callback",
    clientName: "e2e MCP SDK v2",
    grantTypes: ["authorization_code", "refresh_token"],
  });
  const serverUrl = new URL(`${mcp.base}/mcp`);
  const fetch = async (input, init) => {
    const res = await globalThis.fetch(input, init);
    log.push(`${init?.method || "GET"} ${new URL(input instanceof Request ? input.url : input).pathname} -> ${res.status}`);
    return res;
  };
  const first = new StreamableHTTPClientTransport(serverUrl, { authProvider, fetch });
  await assert.rejects(new Client({ name: "e2e-v2", version: "1" }).connect(first), UnauthorizedError, log.join(", "));
  const consent = await approveViaForm(new URL(authProvider.authorizationUrl).origin, authProvider.authorizationUrl, apiKey);
  // The whole callback query (code, state, iss), as a v2 client hands it over.
  await first.finishAuth(consent.location.searchParams);
  const client = new Client({ name: "e2e-v2", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider, fetch }));
  return { client, authProvider, serverUrl, fetch };
}

async function whoami(client) {
  const call = await client.callTool({ name: "whoami", arguments: {} });
  return call.content[0].text;
}

test("SDK v2, passthrough: the client gets the key and the example sees it", async () => {
  const apiKey = testKey("v2-");
  const log = [];
  const { client, authProvider } = await connect(passthroughMcp, apiKey, log);
  assert.equal(authProvider.tokens().access_token, apiKey);
  assert.match(await whoami(client), new RegExp(`${apiKey.slice(0, 3)}…${apiKey.slice(-4)}`));
  assert.match(log.join("\n"), /^POST \/register -> 201$/m);
  await client.close();
});

test("SDK v2, sealed: a token for the example alone; the SDK refreshes on a 401, and refreshAuthorization rotates", async () => {
  const apiKey = testKey("v2-sealed-");
  const log = [];
  const { client, authProvider, serverUrl, fetch } = await connect(sealedMcp, apiKey, log);
  const tokens = authProvider.tokens();
  assert.notEqual(tokens.access_token, apiKey);
  assert.ok(tokens.refresh_token);
  assert.deepEqual(authProvider.clientInformation().grant_types, ["authorization_code", "refresh_token"]);
  assert.match(await whoami(client), /sealed for this server only/);
  await client.close();

  // A token the example refuses: the SDK refreshes once and carries on, with no new consent.
  authProvider.saveTokens({ ...tokens, access_token: `${tokens.access_token.slice(0, -4)}AAAA` });
  log.length = 0;
  const again = new Client({ name: "e2e-v2", version: "1" });
  await again.connect(new StreamableHTTPClientTransport(serverUrl, { authProvider, fetch }));
  assert.match(await whoami(again), /sealed for this server only/);
  assert.match(log.join("\n"), /^POST \/token -> 200$/m, log.join("\n"));
  assert.doesNotMatch(log.join("\n"), /\/register/);
  const refreshed = authProvider.tokens();
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "rotated");
  await again.close();

  const metadata = await discoverAuthorizationServerMetadata(sealed.base);
  const next = await refreshAuthorization(sealed.base, {
    metadata, clientInformation: authProvider.clientInformation(), refreshToken: refreshed.refresh_token, resource: serverUrl,
  });
  assert.notEqual(next.refresh_token, refreshed.refresh_token);
  assert.equal(next.token_type, "Bearer");
});
