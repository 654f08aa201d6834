// Our Worker's responses to one flow, as templates for the protocol floor
// (bench/protocol-floor/worker.mjs): one flow through oursFlow, each response
// recorded, its per-flow values replaced by placeholders.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { tapResponses } from "./client.mjs";
import { readWranglerToml } from "./config.mjs";
import { oursFlow } from "./flows.mjs";
import { ROOT } from "./paths.mjs";

// Set by the runtime, or by the protocol floor itself.
const NOT_COPIED = new Set(["content-encoding", "content-length", "transfer-encoding", "date", "connection", "keep-alive", "location"]);

function template(response, body = response.text()) {
  const headers = Object.entries(response.headers.raw)
    .filter(([name]) => !NOT_COPIED.has(name))
    .flatMap(([name, value]) => (Array.isArray(value) ? value : [value]).map((v) => [name, v]));
  return { status: response.status, headers, body };
}

/** The responses of one flow (oursFlow) against `base`, in order. */
export async function recordFlow(base) {
  const responses = [];
  const untap = tapResponses((r) => responses.push(r));
  try {
    await oursFlow(base);
  } finally {
    untap();
  }
  return responses;
}

/** The templates of the five responses of one flow against our Worker at `base`. */
export async function captureOurs(base) {
  const responses = await recordFlow(base);
  const [metadata, register, consent, approve, token] = responses;
  const page = consent.text();
  const hidden = page.match(/(<input[^>]*\bname="request"[^>]*\bvalue=")([^"]*)"/);
  if (responses.length !== 5 || !hidden) throw new Error("capture: not the five responses of our flow");
  return {
    metadata: template(metadata, metadata.text().replaceAll(base, "{{origin}}")),
    register: template(register),
    consent: template(consent, page.replace(hidden[0], `${hidden[1]}{{request}}"`)),
    approve: template(approve, ""),
    token: template(token, token.text().replace(token.json().access_token, "{{key}}")),
  };
}

/** Miniflare options for the protocol floor answering with `canned`. */
export function protocolFloorOptions(canned) {
  return {
    modules: true,
    scriptPath: join(ROOT, "bench", "protocol-floor", "worker.mjs"),
    // The same runtime behaviour as ours.
    compatibilityDate: readWranglerToml(join(ROOT, "wrangler.toml")).compatibilityDate,
    kvNamespaces: ["KV"],
    // As ours: one object per subject, SQLite storage.
    durableObjects: { GRANTS: { className: "Grants", useSQLite: true } },
    bindings: { CANNED: JSON.stringify(canned) },
  };
}

/**
 * Miniflare options for the byte floor (bench/byte-floor/worker.mjs): the
 * protocol floor with its requests and responses handed through a WASM's
 * memory. Its echo.wasm is compiled here from echo.wat (binaryen, npm).
 */
export async function byteFloorOptions(canned) {
  const dir = join(ROOT, "bench", "byte-floor");
  const { default: binaryen } = await import("binaryen");
  const module = binaryen.parseText(readFileSync(join(dir, "echo.wat"), "utf8"));
  if (!module.validate()) throw new Error("bench/byte-floor/echo.wat: not a valid module");
  writeFileSync(join(dir, "echo.wasm"), module.emitBinary());
  module.dispose();
  return {
    ...protocolFloorOptions(canned),
    scriptPath: join(dir, "worker.mjs"),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
  };
}

/**
 * Miniflare options for the module floor (bench/probes/module-floor): the
 * byte floor with our own WASM (build/) instantiated beside its echo.
 */
export async function moduleFloorOptions(canned) {
  return { ...(await byteFloorOptions(canned)), scriptPath: join(ROOT, "bench", "probes", "module-floor", "worker.mjs") };
}
