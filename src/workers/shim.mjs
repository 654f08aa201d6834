// The Worker's entry (wrangler.toml's `main`; the Makefile copies it to
// build/worker/shim.mjs after worker-build): worker-build's bundle, the
// driver of the WASM's requests, and the `Grants` Durable Object class.
//
// A request crosses into the WASM as one string (its method, URL, which
// bindings exist, and the headers the provider reads) and comes back as one:
// the response, or the one storage operation it waits for, which this file
// runs and hands back (src/workers/machine.rs says the strings). The
// provider's decisions are all the WASM's; here are only I/O and the
// Response. Measured against the WASM reading the request, KV and the
// object through the runtime's objects itself: README, Performance.
//
// worker-build's default export is its entry class behind a Proxy: the
// runtime would construct it for every request, and each construction makes
// a Proxy of the instance, whose `get` makes another of the `fetch` method.
// What that method's Proxy does on each call is what matters: it rebuilds the
// WASM instance after a trap or a panic (src/workers/init.rs marks it) and
// notes a trap it sees thrown. So the `fetch` method's Proxy is taken once per
// isolate and called with each request's head (the method reads `env` from
// `this`): the same recovery, none of the per-request Proxies. The same for
// GrantsSql's `run`: its instance Proxy, made once per object, still rebuilds
// the instance after the WASM's is rebuilt.
//
// The `Grants` class is here because the runtime offers RPC only on a class
// that extends DurableObject, which a WASM export cannot; its storage work is
// the WASM's GrantsSql (src/workers/grants_object.rs). A Worker that mounts
// the crate with the `grants-object` feature exports the same class from its
// own entry.
import { DurableObject } from "cloudflare:workers";
import Entry, { GrantsSql, Requests } from "../index.js";

export * from "../index.js";

let entryFetch;
let headerNames;

/** How long a grant object's call is waited for (the WASM's CALL_TIMEOUT_MS), read once. */
let callTimeoutMs;

export default {
  fetch(request, env, ctx) {
    entryFetch ??= new Entry(ctx, env).fetch;
    headerNames ??= Requests.headers().split("\0");
    callTimeoutMs ??= Requests.callTimeoutMs();
    const bindings = (env.KV && typeof env.KV === "object" ? "k" : "") + (typeof env.GRANTS?.idFromName === "function" ? "g" : "");
    let head = `${request.method}\0${request.url}\0${bindings}`;
    const headers = request.headers;
    for (const name of headerNames) {
      const value = headers.get(name);
      if (value !== null) head += `\0${name}\0${value}`;
    }
    const out = entryFetch.call({ env, ctx }, head, env);
    return out.charCodeAt(0) === 82 /* R */ ? response(out) : drive(out, request, env, ctx);
  },
};

/** A thrown value as text: an Error's name and message, anything else as a string. */
function text(e) {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Runs `operation` for task `id` (a throw is its failure too): the task's next answer. */
async function settle(id, operation) {
  let value;
  try {
    value = await operation();
  } catch (e) {
    return Requests.resume(id, undefined, text(e));
  }
  return Requests.resume(id, typeof value === "string" ? value : undefined, undefined);
}

/** A grant object's reply to `command`, or undefined after callTimeoutMs. */
async function callGrants(env, subject, command) {
  const call = env.GRANTS.get(env.GRANTS.idFromName(subject)).run(command);
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, callTimeoutMs)));
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Calls after the response (`l`): no timer each; one not answered within the
// timeout is logged by the isolate's next such call (what a timer, a race and
// a Rust future per call cost: README, Performance).
const later = new Map();
let lastLater = 0;

function callLater(env, ctx, subject, command) {
  const now = Date.now();
  for (const [n, started] of later) {
    if (now - started < callTimeoutMs) continue;
    later.delete(n);
    Requests.laterSettled(undefined, undefined);
  }
  const n = ++lastLater;
  later.set(n, now);
  const settled = (reply, failure) => later.delete(n) && Requests.laterSettled(reply, failure);
  const call = env.GRANTS.get(env.GRANTS.idFromName(subject)).run(command);
  ctx.waitUntil(call.then((reply) => settled(typeof reply === "string" ? reply : "", undefined), (e) => settled(undefined, text(e))));
}

// Tasks waiting on a future of their own (`w`), and wake-ups that came first.
const wakers = new Map();
const woken = new Set();
globalThis.__oauth_wake = (id) => {
  const wake = wakers.get(id);
  if (wake) {
    wakers.delete(id);
    wake();
  } else {
    woken.add(id);
  }
};

/** Runs a task's operations until it answers: its Response. */
async function drive(out, request, env, ctx) {
  while (out.charCodeAt(0) !== 82 /* R */) {
    const [kind, n, a, b, c] = out.split("\0");
    const id = Number(n);
    switch (kind) {
      case "b": {
        let body;
        try {
          body = new Uint8Array(await request.arrayBuffer());
        } catch {
          body = undefined;
        }
        out = Requests.body(id, body);
        break;
      }
      case "g":
        out = await settle(id, () => env.KV.get(a));
        break;
      case "p":
        out = await settle(id, () => env.KV.put(b, c, { expirationTtl: Number(a) }));
        break;
      case "d":
        out = await settle(id, () => env.KV.delete(a));
        break;
      case "c":
        out = await settle(id, () => callGrants(env, a, b));
        break;
      case "l":
        if (typeof ctx?.waitUntil !== "function") {
          out = await settle(id, () => callGrants(env, a, b));
          break;
        }
        try {
          callLater(env, ctx, a, b);
          out = Requests.resume(id, undefined, undefined);
        } catch (e) {
          out = Requests.resume(id, undefined, text(e));
        }
        break;
      case "w":
        if (!woken.delete(id)) await new Promise((resolve) => wakers.set(id, resolve));
        out = Requests.poll(id);
        break;
      default:
        throw new Error(`unknown operation ${kind}`);
    }
  }
  return response(out);
}

/** The Response of `R id status n name value … body`. */
function response(out) {
  let at = out.indexOf("\0", 2) + 1;
  let next = out.indexOf("\0", at);
  const status = Number(out.slice(at, next));
  at = next + 1;
  next = out.indexOf("\0", at);
  let count = Number(out.slice(at, next));
  at = next + 1;
  let headers = {};
  let pairs;
  let typed = false;
  for (; count > 0; count--) {
    next = out.indexOf("\0", at);
    const name = out.slice(at, next);
    at = next + 1;
    next = out.indexOf("\0", at);
    const value = out.slice(at, next);
    at = next + 1;
    if (name === "content-type") typed = true;
    // An object is what the runtime reads fastest; a name given twice
    // (set-cookie) needs the pairs.
    if (pairs) pairs.push([name, value]);
    else if (Object.hasOwn(headers, name)) {
      pairs = Object.entries(headers);
      pairs.push([name, value]);
    } else headers[name] = value;
  }
  const body = out.slice(at);
  // A string body without a content-type would be given text/plain.
  const content = body === "" ? null : typed ? body : new TextEncoder().encode(body);
  return new Response(content, { status, headers: pairs ? new Headers(pairs) : headers });
}

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
