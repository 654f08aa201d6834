// The Worker's entry (wrangler.toml's `main`; the Makefile copies it to
// build/worker/shim.mjs after worker-build): worker-build's bundle, and the
// `Grants` Durable Object class. The runtime offers RPC only on a class that
// extends DurableObject, which a WASM export cannot, so the class is here and
// its storage work is the WASM's GrantsSql (src/workers/grants_object.rs).
// A Worker that mounts the crate with the `grants-object` feature exports the
// same class from its own entry.
//
// worker-build's default export is its entry class behind a Proxy: the
// runtime would construct it for every request, and each construction makes
// a Proxy of the instance, whose `get` makes another of the `fetch` method.
// What that method's Proxy does on each call is what matters: it rebuilds the
// WASM instance after a trap or a panic (src/workers/init.rs marks it) and
// notes a trap it sees thrown. So the `fetch` method's Proxy is taken once per
// isolate and called with each request's `env` and `ctx` (the method reads
// them from `this`): the same recovery, none of the per-request Proxies
// (measured: 0.02-0.06x of the protocol floor per request, README
// "Performance"). The same for GrantsSql's `run`: its instance Proxy, made
// once per object, still rebuilds the instance after the WASM's is rebuilt.
import { DurableObject } from "cloudflare:workers";
import Entry, { GrantsSql } from "../index.js";

export * from "../index.js";

let entryFetch;

export default {
  fetch(request, env, ctx) {
    entryFetch ??= new Entry(ctx, env).fetch;
    return entryFetch.call({ env, ctx }, request);
  },
};

let sqlRun;

export class Grants extends DurableObject {
  #sql;

  constructor(ctx, env) {
    super(ctx, env);
    this.#sql = new GrantsSql(ctx);
  }

  /** One grant command (JSON), run atomically: its reply (JSON). */
  run(command) {
    sqlRun ??= this.#sql.run;
    return sqlRun.call(this.#sql, command);
  }
}
