// The byte floor, for `make bench` (plain workerd) and the interleaved probe
// (`BYTES=1 node bench/probes/interleaved.mjs`): the
// protocol floor (bench/protocol-floor/worker.mjs: the same canned responses
// and storage operations), with each request and each response handed
// through a WASM's memory as bytes, the fewest crossings a Worker written in
// WASM could make. In: the method, the URL, the eight headers the provider
// reads (src/http.rs, REQUEST_HEADERS) and the body, each written into the
// memory; one call. Out: the status and headers as one NUL-separated string
// and the body, written, copied by one call, read back (one decode, one
// split, the body as bytes). The WASM does nothing but copy (echo.wat):
// what this costs above the protocol floor is what such a Worker pays before
// it does any work.

import wasm from "./echo.wasm";
import { Grants, floorFetch, headersOf } from "../protocol-floor/worker.mjs";

export { Grants };

const { memory, echo } = new WebAssembly.Instance(wasm, {}).exports;
const bytes = new Uint8Array(memory.buffer);
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
// Where the WASM copies to: the memory's second half.
const OUT = bytes.length >> 1;
const READ = ["authorization", "cf-connecting-ip", "content-length", "content-type", "cookie", "origin", "sec-fetch-site", "user-agent"];

/** Writes `text` at `at`: where the next write goes. */
const write = (text, at) => at + encoder.encodeInto(text, bytes.subarray(at, OUT)).written;

/** The request's head, in and across. */
function head(request) {
  let at = write(request.method, 0);
  at = write(request.url, at);
  for (const name of READ) at = write(request.headers.get(name) ?? "", at);
  echo(0, at, OUT);
}

/** The body, as bytes into the memory, across, and back as the text the floor reads. */
async function text(request) {
  const body = new Uint8Array(await request.arrayBuffer());
  bytes.set(body, 0);
  echo(0, body.length, OUT);
  return decoder.decode(bytes.subarray(OUT, OUT + body.length));
}

/** The canned response, across and back. */
function respond(spec, body = spec.body, extra = []) {
  const headEnd = write([spec.status, ...[...spec.headers, ...extra].flat()].join("\0"), 0);
  const end = write(body || "", headEnd);
  echo(0, end, OUT);
  const [status, ...parts] = decoder.decode(bytes.subarray(OUT, OUT + headEnd)).split("\0");
  const pairs = [];
  for (let i = 0; i < parts.length; i += 2) pairs.push([parts[i], parts[i + 1]]);
  const out = bytes.slice(OUT + headEnd, OUT + end);
  return new Response(out.length ? out : null, { status: Number(status), headers: headersOf(pairs) });
}

const inner = floorFetch(respond, text);

export default {
  fetch(request, env) {
    head(request);
    return inner(request, env);
  },
};
