// The provider driven by oauth4webapi (panva's strict OAuth 2 / RFC client,
// not our code) in workerd: every response goes through its own checks.
// RFC 8414 discovery, RFC 7591 registration, the code flow with PKCE and
// RFC 9207's `iss`, RFC 9068's validation of a JWT access token against the
// JWKS, a rotating refresh, RFC 7662 introspection as a resource server
// (HTTP Basic, as oauth4webapi encodes it), RFC 7009 revocation and the
// RFC 8628 device flow, in passthrough and in sealed (JWT) mode.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import * as oauth from "oauth4webapi";
import { CookieJar, approveViaForm, testKey } from "./helpers.mjs";
import { devSecret, resourceKey, startWorker } from "./worker.mjs";

const RESOURCE = "https://mcp.example/mcp";
const REDIRECT = "http://127.0.0.1:6277/cb";
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const http = { [oauth.allowInsecureRequests]: true };
const none = oauth.None();
let passthrough;
let sealed;
before(async () => {
  [passthrough, sealed] = await Promise.all([
    startWorker(),
    startWorker({ vars: { TOKEN_MODE: "sealed", TOKEN_FORMAT: "jwt" } }),
  ]);
});
after(async () => {
  await passthrough?.stop();
  await sealed?.stop();
});

async function discover(base) {
  const issuer = new URL(base);
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...http, algorithm: "oauth2" }));
}

async function register(as, grantTypes) {
  const metadata = { redirect_uris: [REDIRECT], token_endpoint_auth_method: "none", client_name: "oauth4webapi", grant_types: grantTypes };
  return oauth.processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(as, metadata, http));
}

/** The code flow as oauth4webapi runs it, the person approving in the consent form. */
async function codeFlow(as, client, apiKey, resource) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  const params = {
    client_id: client.client_id, redirect_uri: REDIRECT, response_type: "code", scope: "api", state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
    ...(resource ? { resource } : {}),
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const consent = await approveViaForm(as.issuer, url, apiKey);
  const callback = oauth.validateAuthResponse(as, client, consent.location, state);
  const extra = resource ? { additionalParameters: { resource } } : {};
  const response = await oauth.authorizationCodeGrantRequest(as, client, none, callback, REDIRECT, verifier, { ...http, ...extra });
  return oauth.processAuthorizationCodeResponse(as, client, response);
}

/** The person enters the user code at /device and allows (plain forms). */
async function allowDevice(as, grant, apiKey) {
  const origin = new URL(as.issuer).origin;
  const jar = new CookieJar();
  const post = async (fields) => {
    const res = await fetch(`${origin}/device`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin, ...jar.headers() },
      body: new URLSearchParams(fields),
    });
    jar.store(res);
    return { status: res.status, html: await res.text() };
  };
  const entry = await fetch(grant.verification_uri, { headers: { accept: "text/html" } });
  jar.store(entry);
  const csrf = (await entry.text()).match(/name="csrf" value="([^"]+)"/)[1];
  const step = await post({ csrf, user_code: grant.user_code, action: "enter" });
  assert.equal(step.status, 200, step.html.slice(0, 500));
  const hidden = Object.fromEntries([...step.html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  const done = await post({ ...hidden, api_key: apiKey, action: "approve" });
  assert.match(done.html, /Device connected/);
}

test("passthrough: oauth4webapi's discovery, registration, code flow and device flow deliver the key", async () => {
  const as = await discover(passthrough.base);
  assert.equal(as.issuer, passthrough.base);
  const client = await register(as, ["authorization_code", "refresh_token", DEVICE_GRANT]);
  // Only what /token serves here: no refresh tokens in passthrough mode.
  assert.deepEqual(client.grant_types, ["authorization_code", DEVICE_GRANT]);
  const apiKey = testKey("o4w-");
  const tokens = await codeFlow(as, client, apiKey);
  assert.equal(tokens.access_token, apiKey);
  assert.equal(tokens.token_type, "bearer");
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, none, tokens.access_token, http));

  const grant = await oauth.processDeviceAuthorizationResponse(as, client,
    await oauth.deviceAuthorizationRequest(as, client, none, { scope: "api" }, http));
  await assert.rejects(
    oauth.processDeviceCodeResponse(as, client, await oauth.deviceCodeGrantRequest(as, client, none, grant.device_code, http)),
    (e) => e instanceof oauth.ResponseBodyError && e.error === "authorization_pending",
  );
  const deviceKey = testKey("o4w-device-");
  await allowDevice(as, grant, deviceKey);
  const deviceTokens = await oauth.processDeviceCodeResponse(as, client,
    await oauth.deviceCodeGrantRequest(as, client, none, grant.device_code, http));
  assert.equal(deviceTokens.access_token, deviceKey);
});

test("sealed JWT: oauth4webapi validates the access token (RFC 9068), refreshes, introspects and revokes", async () => {
  const as = await discover(sealed.base);
  const client = await register(as, ["authorization_code", "refresh_token"]);
  assert.deepEqual(client.grant_types, ["authorization_code", "refresh_token"]);
  const apiKey = testKey("o4w-sealed-");
  const tokens = await codeFlow(as, client, apiKey, RESOURCE);
  assert.equal(tokens.expires_in, 3600);
  assert.ok(!JSON.stringify(tokens).includes(apiKey), "the key is sealed, not in the answer");

  // As the resource server: the JWT through oauth4webapi's RFC 9068 checks.
  const request = new Request(RESOURCE, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  const claims = await oauth.validateJwtAccessToken(as, request, RESOURCE, http);
  assert.equal(claims.client_id, client.client_id);
  assert.equal(claims.aud, RESOURCE);
  assert.equal(claims.scope, "api");
  const other = new Request("https://other.example/mcp", { headers: request.headers });
  await assert.rejects(oauth.validateJwtAccessToken(as, other, "https://other.example/mcp", http));

  const refreshed = await oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, none, tokens.refresh_token, { ...http, additionalParameters: { resource: RESOURCE } }));
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);

  // Introspection as the resource server: Basic with its resource key.
  const rs = { client_id: RESOURCE };
  const rsAuth = oauth.ClientSecretBasic(resourceKey(devSecret(), RESOURCE));
  const info = await oauth.processIntrospectionResponse(as, rs,
    await oauth.introspectionRequest(as, rs, rsAuth, refreshed.access_token, http));
  assert.equal(info.active, true);
  assert.equal(info.aud, RESOURCE);
  assert.equal(info.client_id, client.client_id);
  const refused = await oauth.introspectionRequest(as, rs, oauth.ClientSecretBasic("not-the-key"), refreshed.access_token, http);
  assert.equal(refused.status, 401);
  assert.deepEqual(refused.headers.get("www-authenticate"), 'Basic realm="oauth"');

  await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, none, refreshed.refresh_token, http));
  await assert.rejects(
    oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, none, refreshed.refresh_token, http)),
    (e) => e instanceof oauth.ResponseBodyError && e.error === "invalid_grant",
  );
  const after = await oauth.processIntrospectionResponse(as, rs,
    await oauth.introspectionRequest(as, rs, rsAuth, refreshed.access_token, http));
  assert.equal(after.active, false, "a revoked grant's access token is inactive at once");
});
