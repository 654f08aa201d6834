// The MCP tools pinned in tools/inspector (the MCP Inspector, the MCP
// conformance suite) need Node >= 22.19. They run with INSPECTOR_NODE (set by
// the root Makefile's test-e2e: the system's node when new enough, else the
// pinned Node it unpacked into the tools directory), else with this node when
// it is new enough, else with the one `make print-inspector-node` names;
// everything else (the tests, make, wrangler) runs on the system's node.
// `make -s inspector` installs what is missing unless E2E_SKIP_BUILD is set.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./worker.mjs";

const NODE_MIN = [22, 19];

function nodeIsNewEnough(version) {
  const [a, b] = version.replace(/^v/, "").split(".").map(Number);
  return a > NODE_MIN[0] || (a === NODE_MIN[0] && b >= NODE_MIN[1]);
}

function make(args) {
  const r = spawnSync("make", ["-s", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`make ${args.join(" ")} failed (${r.status ?? r.error})`);
  return r.stdout.trim();
}

/** The node that runs tools/inspector's package `name`, and that package's
 *  `bin` entry `bin`: { node, nodeVersion, entry, version }. */
export function mcpTool(name, bin) {
  if (!process.env.E2E_SKIP_BUILD) make(["inspector"]);
  const node =
    process.env.INSPECTOR_NODE || (nodeIsNewEnough(process.version) ? process.execPath : make(["print-inspector-node"]));
  assert.ok(existsSync(node), `${node} missing: run 'make inspector' (installs the MCP tools and a Node >= 22.19 for them)`);
  const version = spawnSync(node, ["--version"], { encoding: "utf8" }).stdout.trim();
  assert.ok(nodeIsNewEnough(version), `${node} is ${version}; ${name} needs Node >= ${NODE_MIN.join(".")}`);
  const dir = join(ROOT, "tools", "inspector", "node_modules", ...name.split("/"));
  const pkgFile = join(dir, "package.json");
  assert.ok(existsSync(pkgFile), `${pkgFile} missing: run 'make inspector'`);
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8"));
  const entry = typeof pkg.bin === "string" ? pkg.bin : pkg.bin[bin];
  return { node, nodeVersion: version, entry: join(dir, entry), version: pkg.version };
}
