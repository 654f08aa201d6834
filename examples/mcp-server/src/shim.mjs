// The Worker's entry (wrangler.toml's `main`; the Makefile copies it to
// build/worker/shim.mjs after worker-build), as the provider's own
// (src/workers/shim.mjs in the repository root): worker-build's entry class
// is a Proxy that the runtime would construct for every request, making a
// Proxy of the instance and another of its `fetch` method each time. The
// `fetch` method's Proxy (it rebuilds the WASM instance after a trap or a
// panic) is taken once per isolate and called with each request's `env`
// and `ctx`.
import Entry from "../index.js";

export * from "../index.js";

let entryFetch;

export default {
  fetch(request, env, ctx) {
    entryFetch ??= new Entry(ctx, env).fetch;
    return entryFetch.call({ env, ctx }, request);
  },
};
