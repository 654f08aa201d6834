// The device authorization grant (RFC 8628) in workerd with the GRANTS
// Durable Object and a real browser: a script plays the device
// (POST /device_authorization, then polling /token at the interval), the
// browser (Debian's chromium through playwright-core) opens
// verification_uri, types the user code, sees the device's IP address and
// user agent on the consent step, pastes a key and allows; the device's
// next poll gets the key (passthrough) or a sealed token (sealed mode).
// Of 8 concurrent polls after Allow exactly one gets the key (the Durable
// Object serialises them). Screenshots of /device and of its consent step
// go under target/.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchChromium, testKey } from "./helpers.mjs";
import { ROOT, startWorker } from "./worker.mjs";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const DEVICE_UA = "e2e-device-cli/1.0 (terminal)";
const CLIENT = "cli.example.com";
const RESOURCE = "https://mcp.example/mcp";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let passthrough, sealed, browser;
const blocked = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: run 'make tools' (apt-get install chromium)`);
  [passthrough, sealed] = await Promise.all([startWorker(), startWorker({ vars: { TOKEN_MODE: "sealed" } })]);
  browser = await launchChromium({ executablePath: CHROMIUM, viewport: { width: 1000, height: 1000 }, blocked });
});

after(async () => {
  await browser?.close();
  await passthrough?.stop();
  await sealed?.stop();
});

const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": DEVICE_UA },
  body: new URLSearchParams(fields),
});

/** The device: asks, then polls at the interval until it gets an answer
 *  other than authorization_pending / slow_down. */
async function startDevice(base, extra = {}, { poll = true, client = CLIENT } = {}) {
  const res = await fetch(`${base}/device_authorization`, form({ client_id: client, scope: "api", ...extra }));
  assert.equal(res.status, 200);
  const grant = await res.json();
  const polls = [];
  if (!poll) return { grant, polls };
  const answer = (async () => {
    let interval = grant.interval;
    for (;;) {
      await sleep(interval * 1000);
      const r = await fetch(`${base}/token`, form({ grant_type: GRANT, device_code: grant.device_code, client_id: client }));
      const body = await r.json();
      polls.push(body.error || "tokens");
      if (body.error === "slow_down") interval += 5;
      else if (body.error !== "authorization_pending") return { status: r.status, body };
    }
  })();
  return { grant, polls, answer };
}

/** The person: opens verification_uri, types the code, checks what the
 *  consent step shows, pastes the key, allows. */
async function personAllows(grant, apiKey, shot, client = CLIENT) {
  const page = await browser.context.newPage();
  try {
    await page.goto(grant.verification_uri);
    assert.equal(await page.locator("#user_code").inputValue(), "");
    if (shot) await page.screenshot({ path: join(ROOT, "target", "device-entry.png"), fullPage: true });
    // Typed as a person might: lower case, a space instead of the dash.
    await page.fill("#user_code", grant.user_code.toLowerCase().replace("-", " "));
    await Promise.all([page.waitForLoadState("load"), page.click("#enter")]);
    await page.waitForSelector("#approve");
    const html = await page.content();
    assert.match(html, /Only continue if you started this on your own device just now/);
    assert.equal(await page.locator("#device_user_agent").textContent(), DEVICE_UA);
    const ip = await page.locator("#device_ip").textContent();
    assert.match(ip, /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/, `the device's IP address is shown: ${ip}`);
    assert.equal(await page.locator("#client_id").textContent(), client);
    if (shot) await page.screenshot({ path: join(ROOT, "target", "device-consent.png"), fullPage: true });
    await page.fill("#api_key", apiKey);
    await Promise.all([page.waitForLoadState("load"), page.click("#approve")]);
    await page.waitForSelector("text=Device connected");
  } finally {
    await page.close();
  }
}

test("passthrough: the device's poll receives the key after Allow in the browser", async () => {
  const apiKey = testKey("sk-");
  const device = await startDevice(passthrough.base);
  await personAllows(device.grant, apiKey, true);
  const { status, body } = await device.answer;
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.access_token, apiKey);
  assert.ok(device.polls.length >= 1);
  // Redeemed: the device code never works again.
  const again = await fetch(`${passthrough.base}/token`, form({ grant_type: GRANT, device_code: device.grant.device_code, client_id: CLIENT }));
  assert.equal((await again.json()).error, "invalid_grant");
  assert.deepEqual(blocked, []);
});

test("sealed: the device's poll receives a sealed token and a refresh token", async () => {
  const apiKey = testKey("sk-");
  const device = await startDevice(sealed.base, { resource: RESOURCE });
  await personAllows(device.grant, apiKey, false);
  const { status, body } = await device.answer;
  assert.equal(status, 200, JSON.stringify(body));
  assert.notEqual(body.access_token, apiKey);
  assert.ok(!body.access_token.includes(apiKey));
  assert.equal(typeof body.refresh_token, "string");
  assert.equal(body.token_type, "Bearer");
  // a_device_code_redeemed_twice_left_its_grant_alive: a second redemption revokes the grant.
  const again = await fetch(`${sealed.base}/token`, form({ grant_type: GRANT, device_code: device.grant.device_code, client_id: CLIENT }));
  assert.equal((await again.json()).error, "invalid_grant");
  const refreshed = await fetch(`${sealed.base}/token`, form({ grant_type: "refresh_token", refresh_token: body.refresh_token, client_id: CLIENT }));
  assert.deepEqual([refreshed.status, (await refreshed.json()).error], [400, "invalid_grant"]);
});

test("a_device_registering_for_the_device_grant_alone_was_refused: a CLI registers itself with no redirect URI, then signs in", async () => {
  const reg = await fetch(`${sealed.base}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_name: "e2e-cli", grant_types: [GRANT, "refresh_token"], token_endpoint_auth_method: "none" }),
  });
  const client = await reg.json();
  assert.equal(reg.status, 201, JSON.stringify(client));
  assert.deepEqual(client.grant_types, ["refresh_token", GRANT]);
  assert.deepEqual(client.redirect_uris, []);
  const apiKey = testKey("sk-");
  const device = await startDevice(sealed.base, { resource: RESOURCE }, { client: client.client_id });
  await personAllows(device.grant, apiKey, false, client.client_id);
  const { status, body } = await device.answer;
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(typeof body.refresh_token, "string");
  const refreshed = await fetch(`${sealed.base}/token`, form({ grant_type: "refresh_token", refresh_token: body.refresh_token, client_id: client.client_id }));
  assert.equal(refreshed.status, 200, await refreshed.clone().text());
  assert.notEqual((await refreshed.json()).refresh_token, body.refresh_token, "rotated");
});

test("concurrent polls after Allow: exactly one gets the key, in the Durable Object", async () => {
  const apiKey = testKey("sk-");
  const device = await startDevice(passthrough.base, {}, { poll: false });
  await personAllows(device.grant, apiKey, false);
  const fields = { grant_type: GRANT, device_code: device.grant.device_code, client_id: CLIENT };
  const answers = await Promise.all(
    Array.from({ length: 8 }, async () => {
      const r = await fetch(`${passthrough.base}/token`, form(fields));
      return { status: r.status, body: await r.json() };
    }),
  );
  const winners = answers.filter((a) => a.status === 200);
  assert.equal(winners.length, 1, JSON.stringify(answers));
  assert.equal(winners[0].body.access_token, apiKey);
  for (const a of answers.filter((a) => a.status !== 200)) assert.equal(a.body.error, "invalid_grant");
});
