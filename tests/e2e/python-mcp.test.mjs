// The MCP Python SDK's OAuth client (mcp 2.3.0, pinned in
// tools/python/requirements.txt; `make python-mcp` makes its virtual
// environment) through OAuth to the example MCP server and the provider in
// workerd: 401 -> protected-resource metadata -> provider metadata ->
// registration -> consent through the real form -> token (the SDK checks
// RFC 9207's `iss` and RFC 8707's resource) -> tools/call whoami; in sealed
// mode the SDK then refreshes an expired token before its next request,
// without a new consent. tools/python/mcp_client.py is the client.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { testKey } from "./helpers.mjs";
import { ROOT, startBothModes } from "./worker.mjs";

const HAS_PYTHON = spawnSync("python3", ["--version"]).status === 0;

function pythonMcp() {
  const make = (target) => spawnSync("make", ["-s", target], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (!process.env.E2E_SKIP_BUILD) assert.equal(make("python-mcp").status, 0, "make python-mcp failed");
  const python = make("print-python-mcp").stdout.trim();
  assert.ok(existsSync(python), `${python} missing: run 'make python-mcp'`);
  return python;
}

/** Runs the Python client against `mcpUrl` with `apiKey`: its JSON report. */
function runClient(python, mcpUrl, apiKey) {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [join(ROOT, "tools", "python", "mcp_client.py"), mcpUrl, apiKey], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => (err += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      // Its last line says what failed and what each request got; first here.
      const last = err.trim().split("\n").at(-1);
      if (code !== 0) return reject(new Error(`mcp_client.py exited ${code}: ${last}\n${err.slice(-4000)}`));
      resolve(JSON.parse(out));
    });
  });
}

describe("the MCP Python SDK's OAuth client", { skip: !HAS_PYTHON && "no python3" }, () => {
  let python, passthrough, passthroughMcp, sealed, sealedMcp, both;
  before(async () => {
    python = pythonMcp();
    both = await startBothModes();
    ({ passthrough, passthroughMcp, sealed, sealedMcp } = both);
  });
  after(async () => {
    await both?.stop();
  });

  test("passthrough: one consent, and the example receives the key", async () => {
    const apiKey = testKey("py-");
    const r = await runClient(python, `${passthroughMcp.base}/mcp`, apiKey).catch((e) => {
      e.message += `\n--- the provider's log ---\n${passthrough.logs().slice(-3000)}\n--- the example's log ---\n${passthroughMcp.logs().slice(-2000)}`;
      throw e;
    });
    assert.equal(r.consents, 1);
    assert.equal(r.iss, passthrough.base);
    assert.equal(r.tokens.is_the_key, true);
    assert.deepEqual(r.registered_grant_types, ["authorization_code"], "no refresh tokens in passthrough mode");
    assert.match(r.whoami, new RegExp(`${apiKey.slice(0, 3)}…${apiKey.slice(-4)}`));
    assert.deepEqual(r.requests.slice(0, 5), [
      "POST /mcp", "GET /.well-known/oauth-protected-resource/mcp", "GET /.well-known/oauth-authorization-server", "POST /register", "POST /token",
    ]);
  });

  test("sealed: a token for the example alone, refreshed (rotated) when expired without a new consent", async () => {
    const apiKey = testKey("py-sealed-");
    const r = await runClient(python, `${sealedMcp.base}/mcp`, apiKey).catch((e) => {
      // What the provider and the example logged: a failure's other half.
      e.message += `\n--- the provider's log ---\n${sealed.logs().slice(-3000)}\n--- the example's log ---\n${sealedMcp.logs().slice(-2000)}`;
      throw e;
    });
    assert.equal(r.consents, 1, "one consent for both calls");
    assert.equal(new URL(r.authorization_url).searchParams.get("resource"), `${sealedMcp.base}/mcp`);
    assert.deepEqual(r.tokens, { token_type: "Bearer", expires_in: 3600, scope: "api", has_refresh_token: true, is_the_key: false });
    assert.deepEqual(r.registered_grant_types, ["authorization_code", "refresh_token"]);
    assert.match(r.whoami, /sealed for this server only/);
    assert.match(r.whoami_after_refresh, /sealed for this server only/);
    const afterExpiry = r.requests.slice(r.requests.indexOf("--- expired") + 1);
    assert.equal(afterExpiry[0], "POST /token", afterExpiry.join(", "));
    assert.ok(!afterExpiry.includes("POST /register"));
    assert.equal(r.rotated, true);
    assert.equal(r.new_access_token, true);
  });
});
