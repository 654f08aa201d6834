// The protocol floor, for `make bench`: the least a Worker can spend on our
// flow in this runtime. It answers our five requests with our own responses,
// captured from our Worker when the bench starts (bench/lib/capture.mjs: the
// same statuses, headers and bodies, with the per-flow values filled in),
// reads the same request bodies and does the same three KV operations. It
// checks nothing and encrypts nothing: everything our Worker spends beyond
// this is the provider's own work.
//
// CANNED (a JSON binding): { metadata, register, consent, approve, token },
// each { status, headers: [[name, value], ...], body } with the placeholders
// {{origin}}, {{request}} and {{key}}.

let canned;

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function reply(spec, body = spec.body, extra = []) {
  return new Response(body || null, { status: spec.status, headers: [...spec.headers, ...extra] });
}

export default {
  async fetch(request, env) {
    canned ??= JSON.parse(env.CANNED);
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/.well-known/oauth-authorization-server":
        return reply(canned.metadata, canned.metadata.body.replaceAll("{{origin}}", url.origin));
      case "/register":
        await request.text();
        return reply(canned.register);
      case "/authorize": {
        // The consent page carries the authorization request back in its form.
        if (request.method === "GET") return reply(canned.consent, canned.consent.body.replace("{{request}}", encodeURIComponent(url.search.slice(1))));
        const form = new URLSearchParams(await request.text());
        const asked = new URLSearchParams(decodeURIComponent(form.get("request")));
        const code = b64url(crypto.getRandomValues(new Uint8Array(32)));
        const grant = JSON.stringify({ key: form.get("api_key"), challenge: asked.get("code_challenge"), client_id: asked.get("client_id") });
        // 400 characters, as the JS+KV floor stores (bench/original/worker.mjs).
        await env.KV.put(`code:${code}`, grant.padEnd(400), { expirationTtl: 660 });
        const to = new URL(asked.get("redirect_uri"));
        to.search = new URLSearchParams({ code, state: asked.get("state"), iss: url.origin });
        return reply(canned.approve, "", [["location", to.href]]);
      }
      case "/token": {
        const form = new URLSearchParams(await request.text());
        const key = `code:${form.get("code")}`;
        const grant = JSON.parse(await env.KV.get(key));
        await env.KV.delete(key);
        return reply(canned.token, canned.token.body.replace("{{key}}", grant.key));
      }
    }
    return new Response("not found", { status: 404 });
  },
};
