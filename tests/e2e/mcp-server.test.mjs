// The example MCP server (examples/mcp-server) and the provider, both in
// workerd, driven by the MCP TypeScript SDK's Client over
// StreamableHTTPClientTransport with an OAuthClientProvider: 401 ->
// protected-resource metadata -> provider metadata -> registration ->
// consent through the real form -> finishAuth(code) -> reconnect ->
// tools/list and tools/call whoami with the key the user pasted.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { MemoryOAuthClientProvider, approveViaForm, testKey } from "./helpers.mjs";
import { PRM_PATH, startMcpExample, startWorker } from "./worker.mjs";

let provider;
let mcp;
before(async () => {
  provider = await startWorker();
  mcp = await startMcpExample({ authorizationServer: provider.base });
});
after(async () => {
  await mcp?.stop();
  await provider?.stop();
});

const INSPECTOR = "http://localhost:6274";

/** fetch that records "METHOD origin-tag path -> status" for every request. */
function recordingFetch(log) {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const res = await fetch(input, init);
    const who = url.origin === mcp.base ? "mcp" : url.origin === provider.base ? "as" : url.origin;
    log.push(`${init?.method || (input instanceof Request ? input.method : "GET")} ${who} ${url.pathname} -> ${res.status}`);
    return res;
  };
}

test("the example's /mcp answers 401 with a challenge naming its metadata, which names the provider", async () => {
  const res = await fetch(`${mcp.base}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", origin: INSPECTOR },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
  });
  await res.arrayBuffer();
  assert.equal(res.status, 401);
  assert.equal(
    res.headers.get("www-authenticate"),
    `Bearer resource_metadata="${mcp.base}${PRM_PATH}", scope="api"`,
  );
  assert.equal(res.headers.get("access-control-allow-origin"), INSPECTOR);
  assert.match(res.headers.get("access-control-expose-headers") || "", /WWW-Authenticate/i);

  const prm = await (await fetch(mcp.base + PRM_PATH)).json();
  const asMeta = await (await fetch(`${provider.base}/.well-known/oauth-authorization-server`)).json();
  assert.equal(prm.resource, `${mcp.base}/mcp`);
  assert.deepEqual(prm.authorization_servers, [asMeta.issuer], "PRM must list the issuer byte for byte");
  assert.deepEqual(prm.bearer_methods_supported, ["header"]);

  const preflight = await fetch(`${mcp.base}/mcp`, {
    method: "OPTIONS",
    headers: {
      origin: INSPECTOR,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, mcp-protocol-version",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), INSPECTOR);
  for (const h of ["authorization", "content-type", "mcp-protocol-version", "mcp-session-id"]) {
    assert.match(preflight.headers.get("access-control-allow-headers") || "", new RegExp(h));
  }
  assert.equal(preflight.headers.get("access-control-allow-credentials"), null);

  const malformed = await fetch(`${mcp.base}/mcp`, { method: "POST", headers: { authorization: "Bearer two tokens" } });
  await malformed.arrayBuffer();
  assert.equal(malformed.status, 401);
  assert.match(malformed.headers.get("www-authenticate") || "", /^Bearer error="invalid_token"/);

  const get = await fetch(`${mcp.base}/mcp`, { headers: { authorization: "Bearer sk-anything-0123456789" } });
  await get.arrayBuffer();
  assert.equal(get.status, 405, "GET /mcp (SSE stream) is not offered");
});

test("the example's request edges in workerd (workers::serve): body limits, a chunked body, HEAD, headers it does not read", async () => {
  const key = testKey();
  const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
  const rpc = async (init) => {
    const res = await fetch(`${mcp.base}/mcp`, { method: "POST", ...init, headers: { ...auth, ...init.headers } });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : null, headers: res.headers };
  };
  const call = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "whoami", arguments: {} } });

  // Thirty headers nobody reads, and the ones it does read, in any case.
  const junk = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`x-junk-${i}`, "v".repeat(100)]));
  const ok = await rpc({ body: call, headers: { ...junk, Origin: INSPECTOR, "MCP-Protocol-Version": "2025-06-18" } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.id, 7);
  assert.ok(ok.json.result.content[0].text.includes(`…${key.slice(-4)}`), ok.text);
  assert.ok(!ok.text.includes(key), "never the whole key");
  assert.equal(ok.headers.get("access-control-allow-origin"), INSPECTOR);

  // Over 1 MB, declared: not read, 413.
  const big = await rpc({ body: `{"jsonrpc":"2.0","id":1,"method":"ping","pad":"${"a".repeat(1_100_000)}"}` });
  assert.equal(big.status, 413, big.text);
  assert.equal(big.json.error.code, -32600);

  // Over 1 MB, chunked (no Content-Length): read, then refused.
  const chunks = [new TextEncoder().encode('{"pad":"'), new Uint8Array(1_100_000).fill(97), new TextEncoder().encode('"}')];
  const stream = new ReadableStream({ pull(c) { const next = chunks.shift(); next ? c.enqueue(next) : c.close(); } });
  const chunked = await rpc({ body: stream, duplex: "half" });
  assert.equal(chunked.status, 413, chunked.text);

  // A small chunked body is read whole.
  const parts = [call.slice(0, 20), call.slice(20)].map((t) => new TextEncoder().encode(t));
  const small = new ReadableStream({ pull(c) { const next = parts.shift(); next ? c.enqueue(next) : c.close(); } });
  const smallRes = await rpc({ body: small, duplex: "half" });
  assert.equal(smallRes.status, 200, smallRes.text);
  assert.equal(smallRes.json.id, 7);

  const notJson = await rpc({ body: "\xff\xfe not json" });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.json.error.code, -32700);
  const text = await rpc({ body: call, headers: { "content-type": "text/plain" } });
  assert.equal(text.status, 415);

  // URLs a client or an attacker could send: never a 5xx, always a JSON or empty answer.
  for (const path of [`/mcp?${"a".repeat(16_000)}`, "/%00%ff/..%2f..%2fmcp", "/m\u00e9cp", "/mcp#frag", "//mcp"]) {
    const res = await fetch(`${mcp.base}${path}`, { method: "POST", headers: auth, body: call });
    const body = await res.text();
    assert.ok(res.status < 500, `${path.slice(0, 40)}: ${res.status} ${body.slice(0, 120)}`);
    if (body) assert.doesNotThrow(() => JSON.parse(body), `${path.slice(0, 40)}: ${body.slice(0, 120)}`);
  }

  for (const [headers, status] of [[{}, 401], [{ authorization: `Bearer ${key}` }, 405]]) {
    const head = await fetch(`${mcp.base}/mcp`, { method: "HEAD", headers });
    assert.equal(head.status, status);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  }
});

test("MCP SDK Client: 401 -> discovery -> registration -> consent form -> finishAuth -> tools/call whoami", async () => {
  const apiKey = testKey("sk-");
  const redirectUrl = "http://127.0.0.1:6276/oauth/callback";
  // A real client opens a browser at redirectToAuthorization; the test completes consent below.
  const authProvider = new MemoryOAuthClientProvider({
    redirectUrl,
    clientName: "e2e MCP example client",
    grantTypes: ["authorization_code", "refresh_token"],
  });
  const log = [];
  const serverUrl = new URL(`${mcp.base}/mcp`);

  // 1. First connect: the server says 401; the SDK discovers, registers and
  //    asks us to send the user to the authorization URL.
  const first = new StreamableHTTPClientTransport(serverUrl, { authProvider, fetch: recordingFetch(log) });
  const client1 = new Client({ name: "e2e-mcp-example", version: "1.0.0" });
  await assert.rejects(client1.connect(first), UnauthorizedError, `requests: ${log.join(", ")}`);
  await first.close().catch(() => {});

  const steps = log.join("\n");
  assert.match(steps, /^POST mcp \/mcp -> 401$/m, steps);
  assert.match(steps, new RegExp(`^GET mcp ${PRM_PATH.replaceAll("/", "\\/")} -> 200$`, "m"), steps);
  assert.match(steps, /^GET as \/\.well-known\/oauth-authorization-server -> 200$/m, steps);
  assert.match(steps, /^POST as \/register -> 201$/m, steps);
  assert.ok(
    log.findIndex((l) => l.startsWith("POST mcp /mcp -> 401")) < log.findIndex((l) => l.startsWith("POST as /register")),
    steps,
  );

  const client = authProvider.store.client;
  assert.ok(client?.client_id, "registration returned a client_id");
  for (const [k, v] of Object.entries(client)) assert.notEqual(v, null, `registration field ${k} is null`);

  const authUrl = authProvider.authorizationUrl;
  assert.ok(authUrl, "the SDK asked to redirect to the authorization endpoint");
  assert.equal(authUrl.origin, provider.base);
  const q = authUrl.searchParams;
  assert.equal(q.get("client_id"), client.client_id);
  assert.equal(q.get("redirect_uri"), redirectUrl);
  assert.equal(q.get("resource"), `${mcp.base}/mcp`, "resource from the protected-resource metadata");
  assert.equal(q.get("scope"), "api", "scope from the 401 challenge / metadata");
  assert.equal(q.get("code_challenge_method"), "S256");
  assert.equal(q.get("state"), authProvider.state());

  // 2. The user approves on the real consent page (cookie + csrf + Origin).
  const consent = await approveViaForm(provider.base, authUrl, apiKey);
  assert.equal(consent.location.origin + consent.location.pathname, redirectUrl);
  assert.equal(consent.state, authProvider.state());
  assert.equal(consent.iss, provider.base);
  assert.ok(consent.html.includes("127.0.0.1:6276"), "the consent page names the host that receives the key");

  // 3. The callback: exchange the code.
  await first.finishAuth(consent.code);
  assert.match(log.join("\n"), /^POST as \/token -> 200$/m);
  assert.equal(authProvider.tokens().access_token, apiKey);
  assert.match(String(authProvider.tokens().token_type), /^bearer$/i);

  // 4. Reconnect with the token and use the server.
  const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider, fetch: recordingFetch(log) });
  const mcpClient = new Client({ name: "e2e-mcp-example", version: "1.0.0" });
  try {
    await mcpClient.connect(transport);
    assert.equal(mcpClient.getServerVersion()?.name, "parallel-oauth-provider-example");
    assert.deepEqual(mcpClient.getServerCapabilities()?.tools, {});

    const { tools } = await mcpClient.listTools();
    assert.deepEqual(tools.map((t) => t.name), ["whoami"]);

    const result = await mcpClient.callTool({ name: "whoami", arguments: {} });
    assert.notEqual(result.isError, true);
    const text = result.content.map((c) => c.text ?? "").join("\n");
    assert.ok(text.includes(`sk-…${apiKey.slice(-4)}`), `whoami names the masked key used: ${text}`);
    assert.ok(!text.includes(apiKey), "whoami never returns the whole key");
    assert.ok(!text.includes(apiKey.slice(3, 12)), "nor its middle");
  } finally {
    await mcpClient.close().catch(() => {});
  }
  const after = log.join("\n");
  assert.match(after, /^POST mcp \/mcp -> 200$/m, after);
  assert.doesNotMatch(after.split("POST as /token -> 200")[1], /-> 401$/m, `no 401 once authorized:\n${after}`);
});
