// `make dev` as people run it more than once at a time: two terminals, each
// with its own configuration for one run (`make dev PORT=8790
// TOKEN_MODE=sealed` next to a `make dev`), on a checkout that has no
// .dev.vars yet.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startProcess, waitUntilReady } from "./helpers.mjs";
import { DISCOVERY, freePort, PRM_PATH, ROOT } from "./worker.mjs";

// Without the outer make's exports that `make dev` must set itself.
const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" };
delete env.CLOUDFLARE_CF_FETCH_ENABLED;

/** `make dev` with `args`, on its own state; resolves once it answers `ready` at `port`. */
async function makeDev(port, args, ready = DISCOVERY) {
  const state = mkdtempSync(join(tmpdir(), "pop-e2e-make-dev-"));
  const proc = startProcess("make", ["dev", ...args, `STATE_DIR=${state}`], { cwd: ROOT, env, name: `make dev ${args}` });
  const stop = async () => {
    await proc.stop();
    rmSync(state, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(`http://127.0.0.1:${port}${ready}`, { proc, ms: 240_000, logs: () => proc.out() + proc.err() });
  } catch (e) {
    await stop();
    throw e;
  }
  return { proc, base: `http://127.0.0.1:${port}`, stop };
}

/** Where the log says the devtools inspector went, after checking it answers there. */
async function movedInspector(dev, why) {
  const [, port] = await dev.proc.waitFor(new RegExp(`${why}: the devtools inspector is on (\\d+)`), 5_000);
  const res = await fetch(`http://127.0.0.1:${port}/json/version`);
  assert.equal(res.status, 200, `wrangler's devtools inspector answers on ${port}`);
  return Number(port);
}

/** Whether `port` on 127.0.0.1 is free now. */
const isFree = (port) =>
  new Promise((done) => {
    const s = createServer().once("error", () => done(false));
    s.listen(port, "127.0.0.1", () => s.close(() => done(true)));
  });

test("second_make_dev_failed_on_the_taken_inspector_port: two started at once, each with its PORT and configuration", async () => {
  const [a, b] = [await freePort(), await freePort()];
  const devs = await Promise.allSettled([makeDev(a, [`PORT=${a}`]), makeDev(b, [`PORT=${b}`, "TOKEN_MODE=sealed"])]);
  try {
    for (const d of devs) assert.equal(d.status, "fulfilled", d.reason?.stack);
    const [plain, sealed] = devs.map((d) => d.value);
    const ports = [await movedInspector(plain, "not the default PORT"), await movedInspector(sealed, "not the default PORT")];
    assert.notEqual(ports[0], ports[1]);
    assert.ok(!ports.includes(9229), `the default inspector port is left to a make dev on the default PORT: ${ports}`);
    // Each run's own configuration took: only sealed mode knows the refresh grant.
    const refresh = (base) =>
      fetch(`${base}/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "not-one", client_id: "app.example" }),
      }).then((r) => r.json());
    assert.equal((await refresh(plain.base)).error, "unsupported_grant_type");
    assert.equal((await refresh(sealed.base)).error, "invalid_grant");
  } finally {
    await Promise.all(devs.map((d) => d.value?.stop()));
  }
});

test("make_dev_printed_a_request_cf_stack_trace_offline: neither make dev fetches request.cf at start", async () => {
  // Miniflare fetched workers.cloudflare.com/cf.json at start: offline, a
  // warning with a getaddrinfo stack trace (or a 3 s wait), for a request.cf
  // nothing here reads. The provider's and the example MCP server's.
  const [a, b] = [await freePort(), await freePort()];
  const devs = await Promise.allSettled([
    makeDev(a, [`PORT=${a}`]),
    makeDev(b, ["-C", "examples/mcp-server", `PORT=${b}`], PRM_PATH),
  ]);
  try {
    for (const d of devs) assert.equal(d.status, "fulfilled", d.reason?.stack);
    for (const { proc } of devs.map((d) => d.value)) {
      const logs = proc.out() + proc.err();
      assert.doesNotMatch(logs, /Request\.cf|workers\.cloudflare\.com/, logs);
    }
  } finally {
    await Promise.all(devs.map((d) => d.value?.stop()));
  }
});

test("make dev on the default PORT with port 9229 taken: the inspector moves to a free port", async (t) => {
  if (!(await isFree(8787))) return t.skip("127.0.0.1:8787 is in use here (a make dev of your own?)");
  // What another process may hold: the default devtools inspector port.
  const holder = createServer();
  await new Promise((done) => holder.once("error", done).listen(9229, "127.0.0.1", done));
  try {
    const dev = await makeDev(8787, []);
    try {
      assert.notEqual(await movedInspector(dev, "port 9229 is taken"), 9229);
    } finally {
      await dev.stop();
    }
  } finally {
    holder.close();
  }
});

test("dev_vars_race_failed_the_second_make_dev: losing the race for .dev.vars to another make dev is no error", () => {
  // GNU cp creates its target exclusively once it has seen it missing: when
  // another `make dev` makes .dev.vars in between, cp fails with EEXIST
  // (seen: two `make dev` started at once, 2 in 1,600 tries of the recipe).
  // This cp loses that race every time: the other's copy appears, then it
  // fails as GNU cp does.
  const dir = mkdtempSync(join(tmpdir(), "pop-e2e-dev-vars-"));
  try {
    copyFileSync(join(ROOT, ".dev.vars.example"), join(dir, ".dev.vars.example"));
    const bin = join(dir, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "cp"), `#!/bin/bash\ncat "$1" > "$2"\necho "cp: cannot create regular file '$2': File exists" >&2\nexit 1\n`, { mode: 0o755 });
    const run = spawnSync("make", ["-s", "-C", dir, "-f", join(ROOT, "Makefile"), "dev-vars"], {
      encoding: "utf8",
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(run.status, 0, `dev-vars failed after another run made .dev.vars:\n${run.stdout}${run.stderr}`);
    assert.equal(readFileSync(join(dir, ".dev.vars"), "utf8"), readFileSync(join(dir, ".dev.vars.example"), "utf8"));
    // And with no other run: the file is made from the example.
    rmSync(join(dir, ".dev.vars"));
    const alone = spawnSync("make", ["-s", "-C", dir, "-f", join(ROOT, "Makefile"), "dev-vars"], { encoding: "utf8" });
    assert.equal(alone.status, 0, alone.stderr);
    assert.match(alone.stdout, /created \.dev\.vars from \.dev\.vars\.example/);
    assert.equal(readFileSync(join(dir, ".dev.vars"), "utf8"), readFileSync(join(dir, ".dev.vars.example"), "utf8"));
    // Without the example to copy, it fails and says why (cp's own message is not shown).
    rmSync(join(dir, ".dev.vars"));
    rmSync(join(dir, ".dev.vars.example"));
    const missing = spawnSync("make", ["-s", "-C", dir, "-f", join(ROOT, "Makefile"), "dev-vars"], { encoding: "utf8" });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /could not create \.dev\.vars from \.dev\.vars\.example/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("two_builds_at_once_corrupted_the_wasm: builds started together run one after the other, and the second finds its work done", async () => {
  // Two `make dev` (the README's two terminals) both rebuild after one save,
  // and `make test` builds beside a running `make dev`: each ran
  // worker-build into the same staging directory at once, and a worker then
  // failed to start ("WasmModuleObject::Compile(): section extends past end
  // of the module"; seen here). The build command is swapped for one that
  // writes its output slowly and notes when another is running.
  const dir = mkdtempSync(join(tmpdir(), "pop-e2e-two-builds-"));
  try {
    for (const f of ["Cargo.toml", "Cargo.lock"]) copyFileSync(join(ROOT, f), join(dir, f));
    mkdirSync(join(dir, "src", "workers"), { recursive: true });
    writeFileSync(join(dir, "src", "workers", "shim.mjs"), "// the entry\n");
    const past = new Date(Date.now() - 60_000);
    for (const f of ["Cargo.toml", "Cargo.lock", "src/workers/shim.mjs"]) utimesSync(join(dir, f), past, past);
    const log = join(dir, "builds.log");
    const fake = join(dir, "slow-worker-build");
    writeFileSync(
      fake,
      `#!/bin/bash\nout=$3\n[[ -e "${dir}/running" ]] && echo overlap >> "${log}"\ntouch "${dir}/running"; echo build >> "${log}"\n` +
        `rm -rf "$out"; mkdir -p "$out/worker"\nfor f in index_bg.wasm index.js package.json worker/shim.mjs; do echo "new $f" > "$out/$f"; sleep 0.4; done\nrm -f "${dir}/running"\n`,
      { mode: 0o755 },
    );
    const build = () =>
      new Promise((done) => {
        const p = spawn("make", ["-s", "-C", dir, "-f", join(ROOT, "Makefile"), "build-worker", `WORKER_BUILD=${fake}`, "WORKER_OPT=true"], { stdio: "pipe" });
        let out = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (out += d));
        p.on("exit", (code) => done({ code, out }));
      });
    const results = await Promise.all([build(), build()]);
    for (const r of results) assert.equal(r.code, 0, r.out);
    assert.deepEqual(readFileSync(log, "utf8").trim().split("\n"), ["build"], "one build, never two at once");
    assert.equal(readFileSync(join(dir, "build", "index_bg.wasm"), "utf8"), "new index_bg.wasm\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("failed_build_emptied_build_under_make_dev: a build that fails leaves build/ as it was; one that succeeds replaces it whole", () => {
  // `make dev` rebuilds on every save; a compile error used to delete
  // build/index.js and build/index_bg.wasm (worker-build empties its output
  // first, and make deleted the targets of the failed recipe), so wrangler
  // reported "Could not resolve ../index.js" and any reload had no worker.
  // Here the build command is swapped for one that fails, then for one that
  // writes a new worker-build output into the stage.
  const dir = mkdtempSync(join(tmpdir(), "pop-e2e-failed-build-"));
  try {
    for (const f of ["Cargo.toml", "Cargo.lock"]) copyFileSync(join(ROOT, f), join(dir, f));
    mkdirSync(join(dir, "src", "workers"), { recursive: true });
    mkdirSync(join(dir, "build", "worker"), { recursive: true });
    const files = ["index_bg.wasm", "index.js", "package.json", "worker/shim.mjs"];
    for (const f of files) writeFileSync(join(dir, "build", f), `previous ${f}`);
    // An input newer than build/: the worker is out of date.
    const past = new Date(Date.now() - 60_000);
    for (const f of files) utimesSync(join(dir, "build", f), past, past);
    writeFileSync(join(dir, "src", "workers", "shim.mjs"), "// the new entry\n");
    const build = (command) =>
      spawnSync("make", ["-s", "-C", dir, "-f", join(ROOT, "Makefile"), "build-worker", `WORKER_BUILD=${command}`, "WORKER_OPT=true"], { encoding: "utf8" });

    const failed = build("false");
    assert.notEqual(failed.status, 0, "the build failed");
    assert.doesNotMatch(failed.stderr, /Deleting file/);
    for (const f of files) assert.equal(readFileSync(join(dir, "build", f), "utf8"), `previous ${f}`, `build/${f} kept`);

    const fake = join(dir, "fake-worker-build");
    writeFileSync(fake, `#!/bin/bash\n# worker-build --release --out-dir <stage> ...\nout=$3; rm -rf "$out"; mkdir -p "$out/worker"\nfor f in index_bg.wasm index.js package.json worker/shim.mjs; do echo "new $f" > "$out/$f"; done\n`, { mode: 0o755 });
    const ok = build(fake);
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    for (const f of ["index_bg.wasm", "index.js", "package.json"]) assert.equal(readFileSync(join(dir, "build", f), "utf8"), `new ${f}\n`);
    assert.equal(readFileSync(join(dir, "build", "worker", "shim.mjs"), "utf8"), "// the new entry\n", "our entry, not worker-build's");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
