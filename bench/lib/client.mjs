// The load generator's HTTP client: node:http on keep-alive connections.
//
// The generator shares the machine's two cores with the workerd it measures.
// Node's fetch (undici, WHATWG streams) spends 3.5-4.5 ms of CPU per flow of
// five requests; this client 1.4-1.7 ms. With fetch, workerd could not get a
// whole core at concurrency 8 (85-88% busy against 94-95%), so throughput
// measured the client as much as the Worker.
//
// What reaches the Worker does not change: the same request headers as
// Node's fetch sends (including `accept-encoding: gzip, deflate`, so the
// local runtime's emulation of the edge's compression runs as it does for
// real clients), bodies decoded here. Redirects are never followed.

import http from "node:http";
import zlib from "node:zlib";

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

// What Node 20's fetch sends with every request.
const FETCH_HEADERS = {
  accept: "*/*",
  "accept-language": "*",
  "sec-fetch-mode": "cors",
  "user-agent": "node",
  "accept-encoding": "gzip, deflate",
};

/** The response's headers: `get(name)` and `getSetCookie()`, as on fetch's Headers. */
class Headers {
  constructor(raw) {
    this.raw = raw;
  }
  get(name) {
    const v = this.raw[name.toLowerCase()];
    return v == null ? null : Array.isArray(v) ? v.join(", ") : v;
  }
  getSetCookie() {
    return this.raw["set-cookie"] ?? [];
  }
}

function decode(body, encoding) {
  switch (encoding) {
    case "gzip":
      return zlib.gunzipSync(body);
    case "deflate":
      return zlib.inflateSync(body);
    default:
      return body;
  }
}

let tap = null;

/** Calls `fn(response)` with every response until the returned function is called. */
export function tapResponses(fn) {
  tap = fn;
  return () => {
    tap = null;
  };
}

/**
 * `request(url, { method, headers, body })`: `{ status, headers, text(), json() }`
 * with the body already read and decoded. `body` is a string or URLSearchParams.
 */
export async function request(url, init = {}) {
  try {
    return await send(url, init);
  } catch (e) {
    // A keep-alive connection the server closed as this request went out
    // (Node's documented case): send it again, once, on a new connection.
    if (e.reusedSocket && e.code === "ECONNRESET") return send(url, init);
    throw e;
  }
}

function send(url, { method = "GET", headers = {}, body } = {}) {
  const u = new URL(url);
  const all = { ...FETCH_HEADERS, ...headers };
  const payload = body == null ? null : String(body);
  if (payload != null) {
    all["content-length"] = Buffer.byteLength(payload);
    if (body instanceof URLSearchParams) all["content-type"] ??= "application/x-www-form-urlencoded;charset=UTF-8";
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: all },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          try {
            const text = decode(Buffer.concat(chunks), res.headers["content-encoding"]).toString("utf8");
            const response = { status: res.statusCode, headers: new Headers(res.headers), text: () => text, json: () => JSON.parse(text) };
            tap?.(response);
            resolve(response);
          } catch (e) {
            reject(e);
          }
        });
      },
    );
    req.on("error", (e) => reject(Object.assign(e, { reusedSocket: req.reusedSocket })));
    if (payload != null) req.write(payload);
    req.end();
  });
}
