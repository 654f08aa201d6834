// The original provider, npm parallel-oauth-provider@0.0.13 (installed in
// bench/node_modules by `make bench`), wrapped in a minimal Worker exactly as
// its README shows, for `make bench` to compare against.
//
// Two extra routes for the benchmark's reference floors, answered before the
// provider runs:
//   GET /__noop                  "ok", like our worker's /__noop;
//   GET /__kv?op=put|get|delete&k=<key>
//                                one KV operation and nothing else (a value
//                                the size of a stored code), to measure what
//                                the three KV operations of a flow cost the
//                                local runtime.
import { parallelOauthProvider } from "parallel-oauth-provider";

const VALUE = "x".repeat(400);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/__noop") return new Response("ok");
    if (url.pathname === "/__kv") {
      const key = `bench:${url.searchParams.get("k")}`;
      const op = url.searchParams.get("op");
      if (op === "put") await env.KV.put(key, VALUE, { expirationTtl: 660 });
      else if (op === "get") await env.KV.get(key);
      else if (op === "delete") await env.KV.delete(key);
      else return new Response("bad op", { status: 400 });
      return new Response("ok");
    }
    const oauthResponse = await parallelOauthProvider(request, env.KV, env.SECRET, {});
    if (oauthResponse) return oauthResponse;
    return new Response("Not found", { status: 404 });
  },
};
