// The MCP conformance suite (@modelcontextprotocol/conformance, pinned in
// tools/inspector/package-lock.json; it needs Node >= 22.19, see node22.mjs)
// against the provider in workerd: its authorization-server scenarios, the
// metadata document (RFC 8414, CIMD) and the authorization code grant
// (PKCE, `state`, RFC 9207 `iss`, the token response's status, media type,
// `Cache-Control: no-store` and fields). The suite prints the authorization
// URL for a person; here the consent form is approved with a key, and the
// redirect goes to the suite's own callback listener. In passthrough mode, in
// sealed mode with `--resource`, and under a PATH_PREFIX (issuer with a path).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { approveViaForm, startProcess, testKey } from "./helpers.mjs";
import { mcpTool } from "./node22.mjs";
import { freePort, startWorker } from "./worker.mjs";

const RESOURCE = "https://mcp.example/mcp";
let suite;
let passthrough;
let sealed;
let prefixed;
before(async () => {
  suite = mcpTool("@modelcontextprotocol/conformance", "conformance");
  [passthrough, sealed, prefixed] = await Promise.all([
    startWorker(),
    startWorker({ vars: { TOKEN_MODE: "sealed" } }),
    startWorker({ vars: { PATH_PREFIX: "/oauth" } }),
  ]);
});
after(async () => {
  await Promise.all([passthrough?.stop(), sealed?.stop(), prefixed?.stop()]);
});

/** Runs `conformance authorization` against `issuer`, approving the consent
 *  it asks for; resolves to the suite's output once it exits. */
async function runSuite(issuer, extraArgs = []) {
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/callback`;
  const reg = await fetch(`${issuer}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ redirect_uris: [callback], token_endpoint_auth_method: "none", client_name: "MCP conformance" }),
  });
  assert.equal(reg.status, 201);
  const { client_id } = await reg.json();
  const args = [suite.entry, "authorization", "--url", issuer, "--client-id", client_id, "--port", String(port), ...extraArgs];
  const proc = startProcess(suite.node, args, { env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }, name: "conformance" });
  // startProcess() unrefs the child: this keeps the test's event loop alive
  // until the suite has exited.
  const alive = setInterval(() => {}, 1_000);
  try {
    const [, url] = await proc.waitFor(/^(http\S+\/authorize\?\S+)$/m, 60_000);
    const consent = await approveViaForm(issuer, new URL(url), testKey("conformance-"));
    assert.equal(consent.location.origin + consent.location.pathname, callback);
    const delivered = await fetch(consent.location);
    assert.equal(delivered.status, 200, "the suite's callback listener took the code");
    const { code } = await proc.exited;
    return { code, output: (proc.out() + proc.err()).replace(/\x1b\[[0-9;]*m/g, "") };
  } finally {
    clearInterval(alive);
    await proc.stop();
  }
}

function assertAllPassed({ code, output }) {
  const total = output.match(/Total: (\d+) passed, (\d+) failed/);
  assert.ok(total, `no summary in the suite's output:\n${output}`);
  assert.deepEqual([Number(total[2]), code], [0, 0], output);
  assert.ok(Number(total[1]) >= 3, output);
  assert.match(output, /authorization-server-metadata-endpoint: \d+ passed, 0 failed/);
  assert.match(output, /authorization-code-grant: 1 passed, 0 failed/);
}

test("the MCP conformance suite's authorization-server scenarios pass in passthrough mode", async () => {
  assertAllPassed(await runSuite(passthrough.base));
});

test("the MCP conformance suite's authorization-server scenarios pass in sealed mode, with a resource", async () => {
  assertAllPassed(await runSuite(sealed.base, ["--resource", RESOURCE]));
});

test("the MCP conformance suite's authorization-server scenarios pass for an issuer with a path (PATH_PREFIX)", async () => {
  assertAllPassed(await runSuite(`${prefixed.base}/oauth`));
});
