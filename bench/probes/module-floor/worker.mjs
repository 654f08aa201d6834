// The module floor, for `MODULE=1 node bench/probes/interleaved.mjs`: the byte
// floor (bench/byte-floor/worker.mjs), with our own WASM (build/index_bg.wasm)
// instantiated too, once per isolate, and a little of its code run on every
// request: its allocator takes a buffer for the request's URL, which is
// written there, and gives it back. Its function imports are stubs that throw
// (none is called: wasm-bindgen's start is not run). Against the byte floor it
// shows what our module costs a request by being there, apart from the code
// our flow runs in it.

import ours from "../../../build/index_bg.wasm";
import byteFloor, { Grants } from "../../byte-floor/worker.mjs";

export { Grants };

const stub = (name) => () => {
  throw new Error(`module floor: ${name} was called`);
};
const imports = {};
for (const { module, name, kind } of WebAssembly.Module.imports(ours)) {
  // wasm-bindgen imports JavaScript's exception tag as a tag, the rest as functions.
  const value = kind === "tag" ? WebAssembly.JSTag : kind === "function" ? stub(name) : undefined;
  if (value === undefined) throw new Error(`module floor: import ${module}.${name} is a ${kind}`);
  (imports[module] ??= {})[name] = value;
}
// The glue's names for the allocator (build/index.js: strings are passed with
// `__wbindgen_export2` (malloc) and `__wbindgen_export3` (realloc), freed with
// `__wbindgen_export4`).
const { __wbindgen_export2: malloc, __wbindgen_export4: free, memory } = new WebAssembly.Instance(ours, imports).exports;
if (typeof malloc !== "function" || typeof free !== "function") throw new Error("module floor: the allocator's exports moved");
const encoder = new TextEncoder();

export default {
  fetch(request, env, ctx) {
    const url = request.url;
    const len = url.length * 3 + 64;
    const at = malloc(len, 1);
    encoder.encodeInto(url, new Uint8Array(memory.buffer, at, len));
    free(at, len, 1);
    return byteFloor.fetch(request, env, ctx);
  },
};
