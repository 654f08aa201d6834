// A real browser (Debian's chromium driven by playwright-core, never a
// downloaded browser) runs the demo page: login -> consent page -> approve ->
// the demo page exchanges the code and shows the key prefix. A second login
// uses the remembered key without ever putting it in the page.
// Every request that is not to loopback is aborted.

import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { launchChromium, testKey } from "./helpers.mjs";
import { ROOT, startWorker } from "./worker.mjs";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = join(ROOT, "target");
const TIMEOUT = 20_000;

let worker, context, browser;
const blocked = [];
const consoleProblems = [];

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: run 'make tools' (apt-get install chromium)`);
  worker = await startWorker();
  browser = await launchChromium({ executablePath: CHROMIUM, timeout: TIMEOUT, viewport: { width: 1280, height: 900 }, blocked });
  context = browser.context;
  context.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() === "error" || /Content Security Policy|Refused to/i.test(text)) {
      consoleProblems.push(`${msg.type()}: ${text} @ ${msg.location()?.url || ""}`);
    }
  });
  context.on("weberror", (err) => consoleProblems.push(`pageerror: ${err.error()?.message}`));
});

after(async () => {
  await browser?.close();
  await worker?.stop();
  if (blocked.length) console.log(`# blocked non-loopback requests: ${blocked.join(", ")}`);
});

function isConsentPage(response) {
  const req = response.request();
  return req.method() === "GET" && req.resourceType() === "document" && new URL(response.url()).pathname.endsWith("/authorize");
}

/** Clicks #approve and waits to be back on the demo page; explains a failure. */
async function approve(page) {
  try {
    await Promise.all([page.waitForURL((u) => u.pathname.startsWith("/demo")), page.click("#approve")]);
  } catch (e) {
    const alert = await page.locator(".alert, [role=alert]").allTextContents().catch(() => []);
    throw new Error(`approve did not lead back to /demo/: url=${page.url()} alert=${JSON.stringify(alert)}\n${e.message}`);
  }
}

/** Waits for the demo page to show "Got API key: <first 6 chars>"; explains a failure. */
async function waitForResult(page, apiKey) {
  const expected = "Got API key: " + apiKey.slice(0, 6);
  try {
    await page.waitForFunction((prefix) => document.querySelector("#result")?.textContent.includes(prefix), expected, { timeout: TIMEOUT });
  } catch (e) {
    const text = async (sel) => (await page.locator(sel).textContent().catch(() => "?")) || "";
    throw new Error(
      `#result never showed "${expected}": result="${await text("#result")}" error="${await text("#error")}" ` +
        `status="${await text("#status")}" url=${page.url()}\nconsole: ${consoleProblems.join(" | ")}\n${e.message}`,
    );
  }
}

test("demo page: login, consent with a typed key, remember, then a second login with the saved key", async () => {
  const apiKey = testKey("brw");
  const page = await context.newPage();

  // ---- first login: type the key
  const demo = await page.goto(`${worker.base}/demo/`);
  assert.equal(demo.status(), 200, "GET /demo/");
  const [consent] = await Promise.all([page.waitForResponse(isConsentPage), page.click("#login")]);
  assert.equal(consent.status(), 200, `consent page ${consent.url()} -> ${consent.status()}`);

  const headers = consent.headers();
  assert.match(headers["content-security-policy"] || "", /frame-ancestors 'none'/, "CSP frame-ancestors");
  assert.equal((headers["x-frame-options"] || "").toUpperCase(), "DENY");
  assert.match(headers["cache-control"] || "", /no-store/);

  await page.waitForSelector("#api_key");
  await page.fill("#api_key", apiKey);
  await page.check("#remember");
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, "consent-page.png"), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, "consent-page-mobile.png"), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });

  await approve(page);
  await waitForResult(page, apiKey);

  // ---- second login, same browser: the key is remembered (cookie), never in the page
  const [consent2] = await Promise.all([page.waitForResponse(isConsentPage), page.click("#login")]);
  assert.equal(consent2.status(), 200);
  await page.waitForSelector("#key_choice_saved", { state: "attached" });
  assert.equal(await page.isChecked("#key_choice_saved"), true, "#key_choice_saved must be preselected");
  const html = await page.content();
  assert.ok(!html.includes(apiKey), "the remembered key must not appear in the consent page");
  assert.ok(!(await consent2.text()).includes(apiKey), "the remembered key must not appear in the HTML response");
  await page.screenshot({ path: join(SHOTS, "consent-page-saved-key.png"), fullPage: true });

  // The result of the first login is still on the demo page until the reload; wait for the new navigation.
  await approve(page);
  await waitForResult(page, apiKey);

  assert.deepEqual(consoleProblems.filter((p) => /Content Security Policy|Refused to/i.test(p)), [], "CSP violations");
  await page.close();
});
