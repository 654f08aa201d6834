// The protocol floor, for `make bench`: the least a Worker can spend on our
// flow in this runtime. It answers our five requests with our own responses,
// captured from our Worker when the bench starts (bench/lib/capture.mjs: the
// same statuses, headers and bodies, with the per-flow values filled in),
// reads the same request bodies and does the same storage operations: the
// three KV operations, and at /token the one Durable Object call (RPC) our Worker
// makes to record the passthrough approval for the grants page (the same
// SQLite schema, one SELECT and one INSERT of a record of the same size in
// one transactionSync, in an object named by the key, as ours is named by
// the key's subject). It checks nothing and encrypts nothing: everything our
// Worker spends beyond this is the provider's own work.
//
// CANNED (a JSON binding): { metadata, register, consent, approve, token },
// each { status, headers: [[name, value], ...], body } with the placeholders
// {{origin}}, {{request}} and {{key}}.

import { DurableObject } from "cloudflare:workers";

let canned;

const SCHEMA = "CREATE TABLE IF NOT EXISTS grants (id TEXT PRIMARY KEY, created INTEGER NOT NULL, record TEXT NOT NULL) WITHOUT ROWID";
const DOCS_SCHEMA = "CREATE TABLE IF NOT EXISTS docs (key TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID";

/** The grants object of the floor: what ours does for a passthrough approval, minus the checks (RPC, as ours). */
export class Grants extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.storage = ctx.storage;
    this.ready = false;
  }

  run(command) {
    const { record } = JSON.parse(command).create;
    return this.storage.transactionSync(() => {
      const sql = this.storage.sql;
      if (!this.ready) {
        sql.exec(SCHEMA);
        sql.exec(DOCS_SCHEMA);
        this.ready = true;
      }
      if (sql.exec("SELECT record FROM grants WHERE id = ?", record.id).toArray().length === 0) {
        sql.exec("INSERT INTO grants (id, created, record) VALUES (?, ?, ?)", record.id, record.created, JSON.stringify(record));
      }
      return '{"created":true}';
    });
  }
}

const b64url = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/**
 * Response headers in the form the runtime reads fastest: an object when
 * every name is unique, else a Headers (an array of pairs, the obvious form,
 * costs workerd about 2 µs more per pair: 8 headers 30 against 14 µs per
 * Response, measured).
 */
export function headersOf(pairs) {
  if (new Set(pairs.map(([name]) => name)).size === pairs.length) return Object.fromEntries(pairs);
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return headers;
}

/** A canned response: `spec`'s status and headers (with `extra`), `body` as its body. */
function reply(spec, body = spec.body, extra) {
  spec.init ??= headersOf(spec.headers);
  const headers = extra ? headersOf([...spec.headers, ...extra]) : spec.init;
  return new Response(body || null, { status: spec.status, headers });
}

/** A request's body as text. */
const bodyText = (request) => request.text();

/**
 * The floor's fetch handler, reading bodies with `text` and answering
 * through `respond` (reply's signature); bench/byte-floor passes ones that
 * hand the request and the response through WASM memory.
 */
export const floorFetch = (respond, text = bodyText) =>
  async function fetch(request, env) {
    canned ??= JSON.parse(env.CANNED);
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/.well-known/oauth-authorization-server":
        return respond(canned.metadata, canned.metadata.body.replaceAll("{{origin}}", url.origin));
      case "/register":
        await text(request);
        return respond(canned.register);
      case "/authorize": {
        // The consent page carries the authorization request back in its form.
        if (request.method === "GET") return respond(canned.consent, canned.consent.body.replace("{{request}}", encodeURIComponent(url.search.slice(1))));
        const form = new URLSearchParams(await text(request));
        const asked = new URLSearchParams(decodeURIComponent(form.get("request")));
        const code = b64url(crypto.getRandomValues(new Uint8Array(32)));
        const grant = JSON.stringify({ key: form.get("api_key"), challenge: asked.get("code_challenge"), client_id: asked.get("client_id") });
        // 400 characters, as the JS+KV floor stores (bench/original/worker.mjs).
        await env.KV.put(`code:${code}`, grant.padEnd(400), { expirationTtl: 660 });
        const to = new URL(asked.get("redirect_uri"));
        to.search = new URLSearchParams({ code, state: asked.get("state"), iss: url.origin });
        return respond(canned.approve, "", [["location", to.href]]);
      }
      case "/token": {
        const form = new URLSearchParams(await text(request));
        const key = `code:${form.get("code")}`;
        const grant = JSON.parse(await env.KV.get(key));
        await env.KV.delete(key);
        // The approval, as ours records it (a record of the same shape and size).
        const record = {
          id: b64url(crypto.getRandomValues(new Uint8Array(32))), client_id: grant.client_id, client_name: "bench client",
          client_host: "127.0.0.1:9", resource: null, scope: null, mode: "passthrough", created: Math.floor(Date.now() / 1000),
          last_used: 0, generation: 0, rotated_at: 0, revoked: false,
        };
        const stub = env.GRANTS.get(env.GRANTS.idFromName(`sub:${grant.key}`));
        await stub.run(JSON.stringify({ create: { record } }));
        return respond(canned.token, canned.token.body.replace("{{key}}", grant.key));
      }
    }
    return new Response("not found", { status: 404 });
  };

export default { fetch: floorFetch(reply) };
