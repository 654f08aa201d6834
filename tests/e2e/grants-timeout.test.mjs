// A GRANTS Durable Object that never answers (plain workerd, Miniflare: the
// binding points at a class of another Worker that hangs). The provider
// waits CALL_TIMEOUT_MS (5 s) for it, then: sealed mode answers /token with
// an RFC-shaped 503 and the log says why. Passthrough records the approval
// best effort, after the response (ctx.waitUntil): the key comes back at
// once, and the isolate's next best-effort call logs the one that did not
// answer within the timeout. Nothing hangs.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { codeFlow, testKey } from "./helpers.mjs";
import { BUILT_WORKER, ROOT } from "./worker.mjs";

const HANG = `
import { DurableObject } from "cloudflare:workers";
export class Grants extends DurableObject {
  run() { return new Promise(() => {}); }
}
export default { fetch() { return new Response("hang"); } };
`;

async function start(vars) {
  const out = { log: "" };
  out.mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    handleRuntimeStdio(stdout, stderr) {
      for (const s of [stdout, stderr]) s.on("data", (chunk) => (out.log += chunk));
    },
    workers: [
      {
        name: "provider",
        ...BUILT_WORKER,
        compatibilityDate: "2026-04-20",
        kvNamespaces: ["KV"],
        durableObjects: { GRANTS: { className: "Grants", scriptName: "hang", useSQLite: true } },
        bindings: { SECRET: "timeout-test-secret-0123456789abcdefghijklmnop", DEV: "1", ...vars },
      },
      { name: "hang", modules: true, script: HANG, compatibilityDate: "2026-04-20", durableObjects: { HANG: { className: "Grants", useSQLite: true } } },
    ],
  });
  out.base = (await out.mf.ready).toString().replace(/\/$/, "");
  return out;
}

describe("a GRANTS object that never answers", () => {
  let sealed;
  let passthrough;
  before(async () => {
    [sealed, passthrough] = await Promise.all([
      start({ TOKEN_MODE: "sealed", DEFAULT_RESOURCE: "https://mcp.example/mcp" }),
      start({}),
    ]);
  });
  after(async () => {
    await sealed?.mf.dispose();
    await passthrough?.mf.dispose();
  });

  test("grants_call_times_out: sealed /token is a 503 after the timeout, the log says so; passthrough gets its key at once", { timeout: 60_000 }, async () => {
    const apiKey = testKey("sk-");
    const { tokens: body, ms: waited } = await codeFlow(sealed.base, apiKey, { status: 503 });
    assert.equal(body.error, "temporarily_unavailable");
    assert.ok(waited >= 4_500 && waited < 15_000, `answered after ${waited.toFixed(0)} ms, expected about 5 s`);
    for (let i = 0; i < 40 && !/no answer within 5000 ms/.test(sealed.log); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(sealed.log, /grant object: no answer within 5000 ms/);

    // Passthrough: the record is best effort and after the response.
    const { tokens, ms } = await codeFlow(passthrough.base, apiKey);
    assert.equal(tokens.access_token, apiKey);
    assert.ok(ms < 2_000, `passthrough /token took ${ms.toFixed(0)} ms: it waited for the object`);
    // No timer per call: the isolate's next best-effort call logs the one
    // that has not answered within the timeout.
    await new Promise((r) => setTimeout(r, 5_200));
    assert.doesNotMatch(passthrough.log, /no answer within/, "nothing is logged before the next call looks");
    const again = await codeFlow(passthrough.base, apiKey);
    assert.equal(again.tokens.access_token, apiKey);
    for (let i = 0; i < 40 && !/after the response/.test(passthrough.log); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(passthrough.log, /grant store failed \(after the response\): grant object: no answer within 5000 ms/);
    assert.equal(passthrough.log.split("no answer within").length - 1, 1, "the second call, not yet overdue, is not logged");
  });
});
