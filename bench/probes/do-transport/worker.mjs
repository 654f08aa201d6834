// The probe Worker of bench/probes/do-transport.mjs: GET /fetch calls its
// object with stub.fetch, GET /rpc with an RPC method, GET / does nothing;
// the object writes one SQLite row either way.
import { DurableObject } from "cloudflare:workers";
export class Obj extends DurableObject {
  constructor(ctx, env) { super(ctx, env); ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, v TEXT)"); }
  run(body) { this.ctx.storage.sql.exec("INSERT OR REPLACE INTO t VALUES (?, ?)", "a", body); return body; }
  async fetch(req) { const body = await req.text(); return new Response(this.run(body)); }
}
export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const stub = env.OBJ.get(env.OBJ.idFromName("x"));
    const body = JSON.stringify({ op: "rotate", id: "abcdefghijkl", record: "x".repeat(600) });
    if (u.pathname === "/rpc") return new Response(await stub.run(body));
    if (u.pathname === "/fetch") { const r = await stub.fetch("https://o.invalid/", { method: "POST", body }); return new Response(await r.text()); }
    return new Response("noop");
  },
};
