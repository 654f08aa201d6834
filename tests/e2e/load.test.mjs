// Load against the real worker in workerd: 500 concurrent discovery requests
// and 50 concurrent complete flows (register, consent page, consent POST,
// token). Everything must succeed, nothing may be a 5xx, and every flow must
// get back exactly the key its user typed (one distinct key per flow).

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { CookieJar, testKey } from "./helpers.mjs";
import { answer, consentPage, pkce, register, token, tokenBody } from "./sec-lib.mjs";
import { DISCOVERY, startWorker } from "./worker.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

const ms = (t0) => Math.round(performance.now() - t0);

function summary(times) {
  const s = [...times].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${s.at(-1)} ms`;
}

test("500 concurrent metadata requests all succeed", async (t) => {
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: 500 }, async () => {
      const s = performance.now();
      const res = await fetch(new URL(DISCOVERY, worker.base));
      const body = await res.json().catch(() => null);
      return { status: res.status, body, time: ms(s) };
    }),
  );
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] || 0) + 1;
  assert.deepEqual(statuses, { 200: 500 }, JSON.stringify(statuses));
  for (const r of results) assert.equal(r.body.issuer, worker.base);
  t.diagnostic(`500 metadata requests in ${ms(t0)} ms (${summary(results.map((r) => r.time))})`);
});

test("50 concurrent complete flows each deliver their own key to their own client", async (t) => {
  const t0 = performance.now();
  const statuses = [];
  const flows = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const s = performance.now();
      const key = testKey(`load${i}-`);
      const redirect_uri = `https://app-${i}.example/callback`;
      // Half host-name clients (the README recipe), half signed registrations.
      const metadata = i % 2 ? { redirect_uris: [redirect_uri], client_name: `Load ${i}` } : { redirect_uris: [redirect_uri] };
      const reg = await register(worker.base, metadata);
      statuses.push(reg.res.status);
      assert.equal(reg.res.status, 201, reg.text);
      const client_id = JSON.parse(reg.text).client_id;
      const { verifier, challenge } = pkce();
      const state = `state-${i}`;
      const jar = new CookieJar();
      const page = await consentPage(
        worker.base,
        { response_type: "code", client_id, redirect_uri, code_challenge: challenge, code_challenge_method: "S256", state, scope: "api" },
        jar,
      );
      statuses.push(page.res.status);
      assert.equal(page.res.status, 200, page.text.slice(0, 300));
      const r = await answer(worker.base, page, { api_key: key, action: "approve" }, jar);
      statuses.push(r.res.status);
      assert.equal(r.res.status, 303, r.text.slice(0, 300));
      const loc = new URL(r.res.headers.get("location"));
      assert.equal(loc.origin + loc.pathname, redirect_uri, "the code goes to this flow's client");
      assert.equal(loc.searchParams.get("state"), state);
      const code = loc.searchParams.get("code");
      const tr = await token(worker.base, tokenBody({ code, client_id, redirect_uri, verifier }));
      statuses.push(tr.res.status);
      assert.equal(tr.res.status, 200, tr.text);
      return { i, key, code, got: JSON.parse(tr.text).access_token, time: ms(s) };
    }),
  );
  assert.ok(statuses.every((s) => s < 500), `5xx: ${statuses.filter((s) => s >= 500)}`);
  for (const f of flows) assert.equal(f.got, f.key, `flow ${f.i} got another flow's key`);
  assert.equal(new Set(flows.map((f) => f.key)).size, 50, "distinct keys");
  assert.equal(new Set(flows.map((f) => f.code)).size, 50, "distinct codes");
  t.diagnostic(`50 flows (200 requests) in ${ms(t0)} ms (per flow: ${summary(flows.map((f) => f.time))})`);
});
