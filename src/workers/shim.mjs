// The Worker's entry (wrangler.toml's `main`; the Makefile copies it to
// build/worker/shim.mjs after worker-build): worker-build's bundle, and the
// `Grants` Durable Object class. The runtime offers RPC only on a class that
// extends DurableObject, which a WASM export cannot, so the class is here and
// its storage work is the WASM's GrantsSql (src/workers/grants_object.rs).
// A Worker that mounts the crate with the `grants-object` feature exports the
// same class from its own entry.
import { DurableObject } from "cloudflare:workers";
import { GrantsSql } from "../index.js";

export * from "../index.js";
export { default } from "../index.js";

export class Grants extends DurableObject {
  #sql;

  constructor(ctx, env) {
    super(ctx, env);
    this.#sql = new GrantsSql(ctx);
  }

  /** One grant command (JSON), run atomically: its reply (JSON). */
  run(command) {
    return this.#sql.run(command);
  }
}
