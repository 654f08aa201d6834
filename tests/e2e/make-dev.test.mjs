// `make dev` as people run it more than once at a time: two terminals, each
// with its own configuration for one run (`make dev PORT=8790
// TOKEN_MODE=sealed` next to a `make dev`), on a checkout that has no
// .dev.vars yet.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startProcess, waitUntilReady } from "./helpers.mjs";
import { DISCOVERY, freePort, ROOT } from "./worker.mjs";

test("second_make_dev_failed_on_the_taken_inspector_port: the default port taken, a free one is used and said", async () => {
  // What a first `make dev` holds: the default devtools inspector port.
  const holder = createServer();
  await new Promise((done) => holder.once("error", done).listen(9229, "127.0.0.1", done));
  const port = await freePort();
  const state = mkdtempSync(join(tmpdir(), "pop-e2e-make-dev-"));
  const dev = startProcess("make", ["dev", `PORT=${port}`, "TOKEN_MODE=sealed", `STATE_DIR=${state}`], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    name: "make dev",
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitUntilReady(base + DISCOVERY, { proc: dev, ms: 240_000, logs: () => dev.out() + dev.err() });
    const [, moved] = await dev.waitFor(/port 9229 is taken: the devtools inspector is on (\d+)/, 5_000);
    assert.notEqual(Number(moved), 9229);
    const inspector = await fetch(`http://127.0.0.1:${moved}/json/version`);
    assert.equal(inspector.status, 200, "wrangler's devtools inspector answers on the port it was moved to");
    // The run's own configuration took: sealed mode knows the refresh grant.
    const res = await fetch(`${base}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: "not-one", client_id: "app.example" }),
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, "invalid_grant");
  } finally {
    await dev.stop();
    holder.close();
    rmSync(state, { recursive: true, force: true });
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
