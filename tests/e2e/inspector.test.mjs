// The current MCP Inspector (2.x, pinned in tools/inspector/package-lock.json)
// through the whole OAuth flow, as examples/mcp-server/README.md tells a user
// to run it:
//
// - the provider and the example MCP server are started at the same time with
//   their documented commands, `make dev TOKEN_MODE=sealed` (the example opens
//   sealed tokens by default) and `make -C examples/mcp-server dev
//   AUTHORIZATION_SERVER=…`, each on free ports (PORT=, INSPECTOR_PORT=) with
//   fresh local state (STATE_DIR=);
// - the Inspector CLI runs the README's command,
//   `mcp-inspector --cli --server-url <example>/mcp --method tools/call --tool-name whoami`,
//   with MCP_AUTO_OPEN_ENABLED=true (it then prints the authorization URL on
//   stderr) and its OAuth callback on a free loopback port (MCP_OAUTH_CALLBACK_URL);
// - headless Chromium opens that URL, the user's key is typed into the real
//   consent page and approved; the redirect reaches the CLI's own callback
//   listener, which exchanges the code, and the CLI calls the tool;
// - the tool's answer names the masked key.
//
// Inspector 2.x needs Node >= 22.19: which node runs it, see node22.mjs.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchChromium, startProcess, testKey, waitUntilReady } from "./helpers.mjs";
import { sealedSession } from "../../bench/lib/sealed.mjs";
import { mcpTool } from "./node22.mjs";
import { DISCOVERY, PRM_PATH, ROOT, freePort } from "./worker.mjs";

const START_TIMEOUT_MS = Number(process.env.E2E_START_TIMEOUT_MS || 600_000);

let provider, mcp, browser, home, inspector;
const timings = {};

before(async () => {
  inspector = mcpTool("@modelcontextprotocol/inspector", "mcp-inspector");
  const [port, inspectorPort, mcpPort, mcpInspectorPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const providerBase = `http://127.0.0.1:${port}`;
  const mcpBase = `http://127.0.0.1:${mcpPort}`;
  const state = mkdtempSync(join(tmpdir(), "pop-e2e-inspector-state-"));
  const mcpState = mkdtempSync(join(tmpdir(), "pop-e2e-inspector-mcp-state-"));
  home = mkdtempSync(join(tmpdir(), "pop-e2e-inspector-home-"));
  const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };

  // Both documented commands at once, as two terminals would.
  const t0 = performance.now();
  const providerProc = startProcess(
    "make",
    ["dev", "TOKEN_MODE=sealed", `PORT=${port}`, `INSPECTOR_PORT=${inspectorPort}`, `STATE_DIR=${state}`],
    { cwd: ROOT, env, name: "make dev" },
  );
  const mcpProc = startProcess(
    "make",
    ["-C", "examples/mcp-server", "dev", `PORT=${mcpPort}`, `INSPECTOR_PORT=${mcpInspectorPort}`, `STATE_DIR=${mcpState}`,
      `AUTHORIZATION_SERVER=${providerBase}`],
    { cwd: ROOT, env, name: "make -C examples/mcp-server dev" },
  );
  provider = { proc: providerProc, base: providerBase, inspectorPort, state };
  mcp = { proc: mcpProc, base: mcpBase, inspectorPort: mcpInspectorPort, state: mcpState };
  const logs = (p) => () => p.out() + p.err();
  await Promise.all([
    waitUntilReady(providerBase + DISCOVERY, { proc: providerProc, ms: START_TIMEOUT_MS, logs: logs(providerProc) }),
    waitUntilReady(mcpBase + PRM_PATH, { proc: mcpProc, ms: START_TIMEOUT_MS, logs: logs(mcpProc) }),
  ]);
  timings.serversReadyMs = performance.now() - t0;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await mcp?.proc.stop();
  await provider?.proc.stop();
  for (const dir of [provider?.state, mcp?.state]) if (dir) rmSync(dir, { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
  if (browser?.blocked.length) console.log(`# blocked non-loopback requests: ${browser.blocked.join(", ")}`);
});

test("both `make … dev` run side by side: each on its own port and inspector port, the example pointing at the provider", async () => {
  for (const [who, s] of [["provider", provider], ["example", mcp]]) {
    const res = await fetch(`http://127.0.0.1:${s.inspectorPort}/json/version`);
    assert.equal(res.status, 200, `${who}'s devtools inspector on INSPECTOR_PORT=${s.inspectorPort}`);
    await res.arrayBuffer();
    const out = s.proc.out() + s.proc.err();
    assert.doesNotMatch(out, /Address already in use/, `${who}:\n${out}`);
    // Regression: wrangler's own [build] watcher rebuilt and reloaded at start with nothing edited.
    assert.doesNotMatch(out, /changed, restarting build|\[make dev\] .* changed/, `${who} rebuilt at start:\n${out}`);
    assert.ok(out.includes(`--inspector-port ${s.inspectorPort} `), `${who} passes INSPECTOR_PORT=${s.inspectorPort} to wrangler:\n${out}`);
  }
  const prm = await (await fetch(mcp.base + PRM_PATH)).json();
  const asMeta = await (await fetch(provider.base + DISCOVERY)).json();
  assert.equal(prm.resource, `${mcp.base}/mcp`);
  assert.deepEqual(prm.authorization_servers, [asMeta.issuer], "AUTHORIZATION_SERVER= reached the example");
  assert.equal(asMeta.issuer, provider.base);
});

test("sealed_example_looped_on_401_at_localhost: the walkthrough's servers at http://localhost as at http://127.0.0.1", async () => {
  // `make -C examples/mcp-server dev` derived the key of
  // http://127.0.0.1:<port>/mcp only. A client given http://localhost:<port>/mcp
  // (its own resource, as the metadata there says) got tokens sealed for
  // that resource, which the server could not open: 401, sign in again, 401.
  const port = new URL(mcp.base).port;
  for (const host of ["localhost", "127.0.0.1"]) {
    const resource = `http://${host}:${port}/mcp`;
    const prm = await (await fetch(`http://${host}:${port}${PRM_PATH}`)).json();
    assert.equal(prm.resource, resource);
    // The whole flow for that resource, then tools/call whoami there (it throws unless the key comes back masked).
    const session = await sealedSession(provider.base, resource);
    assert.ok(session.refreshToken, `a sealed grant for ${resource}`);
  }
  assert.match(mcp.proc.out() + mcp.proc.err(), /RESOURCE_KEY for http:\/\/127\.0\.0\.1:\d+\/mcp and http:\/\/localhost:\d+\/mcp/);
  assert.doesNotMatch(mcp.proc.out() + mcp.proc.err(), /RESOURCE_KEY:[A-Za-z0-9_-]{20}/, "the keys are not printed");
});

test(`MCP Inspector CLI: OAuth through the consent page in Chromium, then tools/call whoami answers the masked key`, async (t) => {
  const apiKey = testKey("sk-");
  const callbackPort = await freePort();
  const callbackUrl = `http://127.0.0.1:${callbackPort}/oauth/callback`;
  const env = { ...process.env };
  // No desktop session: the Inspector's forced "open a browser" (xdg-open)
  // then runs BROWSER=true, a no-op; the test is the browser.
  for (const k of ["DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "DESKTOP_SESSION", "XDG_SESSION_DESKTOP",
    "KDE_FULL_SESSION", "GNOME_DESKTOP_SESSION_ID", "MATE_DESKTOP_SESSION_ID", "MCP_CATALOG_PATH",
    "MCP_CLIENT_CONFIG_PATH", "MCP_INSPECTOR_OAUTH_STATE_PATH", "MCP_STORAGE_DIR"]) delete env[k];
  Object.assign(env, {
    HOME: home, // its catalog, client config and OAuth state: ~/.mcp-inspector, fresh
    MCP_INSPECTOR_SECRET_STORE: "memory", // no keychain, nothing written
    MCP_AUTO_OPEN_ENABLED: "true", // prints "Please navigate to: <authorization URL>" without a TTY
    MCP_OAUTH_CALLBACK_URL: callbackUrl, // instead of 127.0.0.1:6276
    XDG_CURRENT_DESKTOP: "X-Generic",
    BROWSER: "true",
    NO_COLOR: "1",
  });
  const t0 = performance.now();
  // The README's command, word for word but for the port.
  const cli = startProcess(
    inspector.node,
    [inspector.entry, "--cli", "--server-url", `${mcp.base}/mcp`, "--method", "tools/call", "--tool-name", "whoami"],
    { cwd: home, env, name: "mcp-inspector --cli" },
  );
  const output = () => `--- inspector stdout ---\n${cli.out()}\n--- inspector stderr ---\n${cli.err()}`;
  try {
    // 1. 401 -> protected-resource metadata -> provider metadata -> /register -> the authorization URL.
    const [, href] = await cli.waitFor(/Please navigate to: (\S+)/, 60_000).catch((e) => {
      throw new Error(`${e.message}\n${output()}`);
    });
    const authUrl = new URL(href);
    assert.equal(authUrl.origin + authUrl.pathname, `${provider.base}/authorize`, output());
    const q = authUrl.searchParams;
    assert.equal(q.get("redirect_uri"), callbackUrl);
    assert.equal(q.get("resource"), `${mcp.base}/mcp`, "resource from the example's protected-resource metadata");
    assert.equal(q.get("scope"), "api");
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.ok(q.get("client_id") && q.get("state"));

    // 2. The user signs in on the consent page, in a real browser.
    const page = await browser.context.newPage();
    const consent = await page.goto(authUrl.href);
    assert.equal(consent.status(), 200, `consent page ${authUrl} -> ${consent.status()}`);
    assert.ok((await page.content()).includes(`127.0.0.1:${callbackPort}`), "the consent page names the host that receives the key");
    await page.fill("#api_key", apiKey);
    // 3. Approve: 303 to the CLI's loopback callback, which exchanges the code at /token.
    await Promise.all([page.waitForURL((u) => u.origin === new URL(callbackUrl).origin), page.click("#approve")]);
    assert.match(await page.textContent("body"), /OAuth complete/i, "the Inspector's callback page");
    const callback = new URL(page.url());
    assert.equal(callback.searchParams.get("state"), q.get("state"));
    assert.equal(callback.searchParams.get("iss"), provider.base);
    await page.close();

    // 4. The CLI reconnects with the token and calls the tool.
    const exit = await Promise.race([
      cli.exited,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`the Inspector did not exit\n${output()}`)), 60_000).unref()),
    ]);
    timings.oauthAndCallMs = performance.now() - t0;
    assert.equal(exit.code, 0, output());
    assert.match(cli.err(), /Authorization complete/, output());
    const result = JSON.parse(cli.out());
    assert.notEqual(result.isError, true, output());
    const text = result.content.map((c) => c.text ?? "").join("\n");
    assert.ok(text.includes(`sk-…${apiKey.slice(-4)}`), `whoami names the masked key: ${text}`);
    assert.ok(!cli.out().includes(apiKey) && !cli.err().includes(apiKey), "the whole key is never printed");
  } finally {
    await cli.stop();
  }

  // What the servers saw, from their wrangler logs (one line per request).
  const providerLog = provider.proc.out() + provider.proc.err();
  const mcpLog = mcp.proc.out() + mcp.proc.err();
  for (const re of [/POST \/register 201/, /GET \/authorize 200/, /POST \/authorize 303/, /POST \/token 200/]) {
    assert.match(providerLog, re, `provider log:\n${providerLog}`);
  }
  for (const re of [/POST \/mcp 401/, /GET \/\.well-known\/oauth-protected-resource\/mcp 200/, /POST \/mcp 200/]) {
    assert.match(mcpLog, re, `example log:\n${mcpLog}`);
  }
  t.diagnostic(
    `MCP Inspector ${inspector.version} on Node ${inspector.nodeVersion}; both servers ready in ` +
      `${(timings.serversReadyMs / 1000).toFixed(1)} s; OAuth + tools/call in ${(timings.oauthAndCallMs / 1000).toFixed(1)} s`,
  );
});
