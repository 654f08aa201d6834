// Demo OAuth 2.1 client: dynamic registration + authorization code with PKCE (S256).
"use strict";

(function () {
  const KEY = "demo_oauth";
  const REDIRECT_URI = location.origin + "/demo/";
  const $ = (id) => document.getElementById(id);

  function show(id, text) {
    $("status").textContent = "";
    $(id).textContent = text;
  }

  function base64url(bytes) {
    let bin = "";
    for (const b of new Uint8Array(bytes)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function randomString() {
    return base64url(crypto.getRandomValues(new Uint8Array(32))); // 43 chars
  }

  async function readJson(res, what) {
    let body = null;
    try { body = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const detail = body && (body.error_description || body.error);
      throw new Error(what + " failed (HTTP " + res.status + ")" + (detail ? ": " + detail : ""));
    }
    if (!body) throw new Error(what + " returned an invalid response");
    return body;
  }

  async function login() {
    $("login").disabled = true;
    $("result").textContent = "";
    $("error").textContent = "";
    try {
      show("status", "Fetching server metadata…");
      const meta = await readJson(
        await fetch("/.well-known/oauth-authorization-server", { headers: { Accept: "application/json" } }),
        "Metadata request");
      for (const k of ["authorization_endpoint", "token_endpoint", "registration_endpoint"]) {
        if (typeof meta[k] !== "string") throw new Error("Metadata is missing " + k);
      }

      show("status", "Registering the demo app…");
      const reg = await readJson(await fetch(meta.registration_endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ redirect_uris: [REDIRECT_URI], client_name: "Demo app" }),
      }), "Client registration");
      if (!reg.client_id) throw new Error("Registration response has no client_id");

      const verifier = randomString();
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
      const challenge = base64url(digest);
      const state = randomString();

      sessionStorage.setItem(KEY, JSON.stringify({
        verifier, state,
        client_id: reg.client_id,
        issuer: meta.issuer || null,
        authorization_endpoint: meta.authorization_endpoint,
        token_endpoint: meta.token_endpoint,
      }));

      const url = new URL(meta.authorization_endpoint, location.href);
      url.search = new URLSearchParams({
        client_id: reg.client_id,
        redirect_uri: REDIRECT_URI,
        response_type: "code",
        scope: "api",
        code_challenge: challenge,
        code_challenge_method: "S256",
        state,
      }).toString();
      show("status", "Redirecting to the consent page…");
      location.assign(url.toString());
    } catch (e) {
      show("error", e.message || String(e));
      $("login").disabled = false;
    }
  }

  async function callback(params) {
    history.replaceState(null, "", location.pathname);
    const raw = sessionStorage.getItem(KEY);
    sessionStorage.removeItem(KEY);
    let saved = null;
    try { saved = raw && JSON.parse(raw); } catch (_) { /* ignore */ }

    if (!saved) throw new Error("No login in progress in this tab. Click the button to start again.");
    if (params.get("state") !== saved.state) throw new Error("State mismatch — this response was not for this login attempt.");
    if (params.has("iss") && params.get("iss") !== saved.issuer) {
      throw new Error("Issuer mismatch: got " + params.get("iss") + ", expected " + saved.issuer + ".");
    }
    if (params.has("error")) {
      if (params.get("error") === "access_denied") throw new Error("You denied access.");
      const desc = params.get("error_description");
      throw new Error("Authorization failed: " + params.get("error") + (desc ? " — " + desc : ""));
    }

    show("status", "Exchanging the code for your key…");
    const tok = await readJson(await fetch(saved.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code"),
        client_id: saved.client_id,
        redirect_uri: REDIRECT_URI,
        code_verifier: saved.verifier,
      }),
    }), "Token request");
    if (typeof tok.access_token !== "string") throw new Error("Token response has no access_token");
    show("result", "Got API key: " + tok.access_token.slice(0, 6) + "…");
  }

  $("login").addEventListener("click", login);

  const params = new URLSearchParams(location.search);
  if (params.has("code") || params.has("error")) {
    callback(params).catch((e) => show("error", e.message || String(e)));
  }
})();
