# parallel-oauth-provider — build, run and test.
#
#   make dev    run the worker locally (wrangler dev + local KV) on 127.0.0.1:$(PORT) (default 8787)
#   make test   cargo test (native) + end-to-end tests against the worker in workerd
#   make build  build the worker (worker-build --release) into build/
#   make tools  install whatever is missing (wasm32 target, worker-build, wasm-bindgen-cli, npm deps,
#               chromium, the pinned MCP Inspector and conformance suite with a Node >= 22.19
#               for them, and a virtual environment with the pinned MCP Python SDK)
#
# `make dev` takes its configuration for one run from the command line: every
# UPPER_SNAKE_CASE variable given there, except the make-only knobs below, goes
# to `wrangler dev` as `--var NAME:value` (over wrangler.toml's [vars] and
# .dev.vars; values may hold ':', '/', spaces):
#
#   make dev PORT=8790 TOKEN_MODE=sealed DEFAULT_RESOURCE=http://127.0.0.1:8788/mcp
#
# Secrets (SECRET, SECRET_PREVIOUS) come from .dev.vars, created from
# .dev.vars.example when missing. Make-only knobs (never passed to the worker):
#   PORT=8787            the worker's port on 127.0.0.1
#   INSPECTOR_PORT=9229  wrangler's devtools inspector port (examples/mcp-server uses 9230,
#                        so both `make dev` run side by side; unset: a free one when PORT
#                        is set or 9229 is taken)
#   STATE_DIR=.wrangler/state  where wrangler keeps local KV
#   TOOLS_DIR, CHROMIUM, E2E_CONCURRENCY (see below)
#
# Everything is installed from package registries only (crates.io, npm, PyPI, apt):
# worker-build would otherwise download wasm-bindgen and wasm-opt from GitHub,
# so it is given local binaries through WASM_BINDGEN_BIN / WASM_OPT_BIN / ESBUILD_BIN.

SHELL := bash
# No -u: Node spawns with socket stdin, which makes bash source /etc/bash.bashrc
# (it reads an unset PS1).
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export PATH := $(HOME)/.cargo/bin:$(PATH)

WORKER_BUILD_VERSION := 0.8.7
# The wasm-bindgen CLI must match the wasm-bindgen crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3; exit }' $(ROOT)/Cargo.lock)
# Installed with `cargo install --root` into a per-version directory unless the
# `wasm-bindgen` on PATH already has the right version.
TOOLS_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/parallel-oauth-provider
WASM_BINDGEN_ROOT := $(TOOLS_DIR)/wasm-bindgen-$(WASM_BINDGEN_VERSION)
# Debian's chromium, driven by playwright-core in tests/e2e/browser.test.mjs.
export CHROMIUM ?= /usr/bin/chromium
NPM_STAMP := node_modules/.installed

# Local binaries handed to worker-build (no GitHub downloads).
export WASM_OPT_BIN := $(ROOT)/node_modules/.bin/wasm-opt
# wasm-opt as worker-build would run it (-O, its feature list), run here after
# it (Cargo.toml says why), except that a function called from one place is
# inlined there only if it is at most 30 bytes: binaryen's default inlines
# every such function whatever its size, and the merged functions compress
# worse. Measured: 156,519 -> 149,891 B gzipped (0: 151,022; 20: 150,088; 40:
# 150,284; 100: 153,261; 300: 155,472), the first request compiles 48.1 KB of
# function bodies instead of 57.2 KB (bench/probes/first-request.mjs), CPU per
# flow and per step unchanged within the noise (bench/probes/ab.mjs).
WASM_OPT_FLAGS := -O --one-caller-inline-max-function-size=30 \
	$(addprefix --enable-,mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue \
	  reference-types exception-handling)
export ESBUILD_BIN := $(ROOT)/node_modules/.bin/esbuild
# No telemetry; wrangler's logs stay in the repo's .wrangler/.
export WRANGLER_SEND_METRICS := false
export WRANGLER_LOG_PATH := $(ROOT)/.wrangler/logs
# Miniflare fills request.cf from workers.cloudflare.com at start; nothing
# here reads request.cf, and offline that fetch prints a stack trace (or
# waits 3 s). Its placeholder instead; CLOUDFLARE_CF_FETCH_ENABLED=true fetches.
export CLOUDFLARE_CF_FETCH_ENABLED ?= false

# Cargo writes the files the wasm build read (including include_str! templates)
# to this dep-info file; it decides whether build/ is up to date. Before the
# first build, fall back to every file under src/ and assets/.
DEPFILE := target/wasm32-unknown-unknown/release/parallel_oauth_provider.d
WORKER_INPUTS := Cargo.toml Cargo.lock src/workers/shim.mjs $(sort $(wildcard $(shell \
	if [[ -f $(DEPFILE) ]]; then \
	  grep -m1 '\.wasm:' $(DEPFILE) | sed -e 's/^[^:]*: *//' | tr ' ' '\n' | grep -v '^$$' | sed 's|^$(ROOT)/||'; \
	else find src assets -type f 2>/dev/null; fi)))
WORKER_OUT := build/worker/shim.mjs build/index.js build/index_bg.wasm
WORKER_STAGE := target/worker-build
# The build command (a test swaps in one that fails), and the optimizer run
# on its WASM (tests with a fake build swap in `true`).
WORKER_BUILD ?= worker-build
WORKER_OPT ?= $(WASM_OPT_BIN) $(WASM_OPT_FLAGS)
# Never deleted on a failed build (.DELETE_ON_ERROR): they are only ever
# replaced whole, by scripts/publish-build.sh after a build that succeeded.
.PRECIOUS: $(WORKER_OUT)

.PHONY: help tools tools-build tools-test rust-tools wasm-target worker-build-bin wasm-bindgen-bin \
        npm chromium python-mcp build build-worker worker-files build-example rebuild dev dev-vars test test-rust test-e2e clean

help:
	@echo "make dev | make test | make build | make tools | make inspector | make bench | make size | make clean"
	@echo "make dev-peer | make dev-original   (the peer and the original under wrangler dev, for a load generator)"

# ---------------------------------------------------------------- tools

tools: tools-test

tools-build: rust-tools npm
tools-test: tools-build chromium inspector python-mcp

rust-tools: wasm-target worker-build-bin wasm-bindgen-bin

wasm-target:
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
	@if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then \
	  echo "==> rustup target add wasm32-unknown-unknown"; \
	  rustup target add wasm32-unknown-unknown; \
	fi

worker-build-bin:
	@if [[ "$$(worker-build --version 2>/dev/null)" != "$(WORKER_BUILD_VERSION)" ]]; then \
	  echo "==> cargo install worker-build $(WORKER_BUILD_VERSION)"; \
	  cargo install worker-build --version $(WORKER_BUILD_VERSION) --locked \
	    || cargo install worker-build --version $(WORKER_BUILD_VERSION); \
	fi

# Prints nothing when present. Without --locked: the CLI's lockfile pins a
# crate version the registry mirror may lack.
wasm-bindgen-bin:
	@[[ -n "$(WASM_BINDGEN_VERSION)" ]] || { echo "wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
	@if [[ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)"* \
	   && "$$($(WASM_BINDGEN_ROOT)/bin/wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)"* ]]; then \
	  echo "==> cargo install wasm-bindgen-cli $(WASM_BINDGEN_VERSION) (into $(WASM_BINDGEN_ROOT))"; \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(WASM_BINDGEN_ROOT); \
	fi

npm: $(NPM_STAMP)

$(NPM_STAMP): package.json package-lock.json
	@command -v node >/dev/null || { echo "node not found: install Node.js >= 20" >&2; exit 1; }
	@echo "==> npm ci"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

chromium:
	@if [[ ! -x "$(CHROMIUM)" ]]; then \
	  echo "==> apt-get install chromium"; \
	  SUDO=; [[ $$(id -u) == 0 ]] || SUDO=sudo; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$SUDO apt-get install -y --no-install-recommends chromium </dev/null \
	    || { $$SUDO apt-get update </dev/null && $$SUDO apt-get install -y --no-install-recommends chromium </dev/null; }; \
	fi

# ---------------------------------------------------------------- MCP Python SDK
# tests/e2e/python-mcp.test.mjs runs the MCP Python SDK's OAuth client
# (tools/python/mcp_client.py) from a virtual environment in $(TOOLS_DIR)
# with the versions pinned in tools/python/requirements.txt, from PyPI; made
# once per set of pins. Without python3 the test skips and says so; where the
# system's python3 has no venv module (Debian without python3-venv), it is
# installed as chromium is.
PYTHON_MCP_PINS := $(shell sha256sum $(ROOT)/tools/python/requirements.txt 2>/dev/null | cut -c1-12)
PYTHON_MCP_DIR := $(TOOLS_DIR)/python-mcp-$(PYTHON_MCP_PINS)

python-mcp:
	@if ! command -v python3 >/dev/null; then echo "python3 not found: tests/e2e/python-mcp.test.mjs will skip" >&2; \
	elif [[ ! -f "$(PYTHON_MCP_DIR)/.installed" ]]; then \
	  echo "==> pip install -r tools/python/requirements.txt (MCP Python SDK) into $(PYTHON_MCP_DIR)" >&2; \
	  if ! python3 -c 'import venv, ensurepip' 2>/dev/null && command -v apt-get >/dev/null; then \
	    SUDO=$$( [[ $$(id -u) -eq 0 ]] || echo sudo ); \
	    $$SUDO apt-get install -y --no-install-recommends python3-venv </dev/null \
	      || { $$SUDO apt-get update </dev/null && $$SUDO apt-get install -y --no-install-recommends python3-venv </dev/null; }; \
	  fi; \
	  rm -rf "$(PYTHON_MCP_DIR)" && mkdir -p $(TOOLS_DIR); \
	  python3 -m venv "$(PYTHON_MCP_DIR)"; \
	  "$(PYTHON_MCP_DIR)/bin/pip" install --quiet --disable-pip-version-check -r $(ROOT)/tools/python/requirements.txt >&2; \
	  touch "$(PYTHON_MCP_DIR)/.installed"; \
	fi

print-python-mcp:
	@echo $(PYTHON_MCP_DIR)/bin/python

# ---------------------------------------------------------------- MCP Inspector
# tests/e2e/inspector.test.mjs runs the MCP Inspector CLI pinned in
# tools/inspector/package-lock.json, and tests/e2e/conformance.test.mjs the MCP
# conformance suite pinned there too. Both need Node >= 22.19: when
# the system's node is older, a pinned Node from the npm registry (package
# node-linux-<arch>, checked against the integrity below) is unpacked once into
# $(TOOLS_DIR) and used for these tools only (their npm ci and their runs);
# everything else keeps the system's node.
#
# Why everything else stays on Node 20 + wrangler 4.86.0, measured on this
# project's 2-core machine (Dec 2026) against Node 22.23.5 + wrangler 4.164.0
# (workerd 1.20261117.1, miniflare 5.20261117.0-beta):
#   e2e suite, 68 tests      47.8 s (68 pass)   | 57.7 s (68 pass), but only after
#                            `node --test tests/e2e/` became a glob: Node 22 takes
#                            no directory ("Cannot find module .../tests/e2e")
#   make dev to ready        3.6-4.4 s, [build] run twice, "The file src,assets
#                            changed, restarting build..." once | 2.7-3.2 s, run once
#   node_modules             352 MB | 535 MB; plus Node 22 (52 MB download) for
#                            make dev and make test, since the system has Node 20
#   newest compatibility_date  2026-04-26 | 2026-11-17
#   local state              .wrangler/state written by the newer workerd makes
#                            4.86's workerd abort ("table _cf_ALARM has 3 columns but
#                            2 values were supplied"): a one-way move for every dev
# The gains (current workerd and date, one build at start) do not yet pay for
# Node 22 under every command, a beta miniflare next to the benchmark's pinned
# 4.20260426.0, and a state reset; revisit when the machines ship Node 22.
INSPECTOR_NODE_MIN := 22.19
NODE22_VERSION := 22.23.5
NODE22_ARCH := $(patsubst x86_64,x64,$(patsubst aarch64,arm64,$(shell uname -m)))
NODE22_INTEGRITY_x64 := sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
NODE22_INTEGRITY_arm64 := sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==
NODE22_DIR := $(TOOLS_DIR)/node-v$(NODE22_VERSION)-linux-$(NODE22_ARCH)
INSPECTOR_DIR := tools/inspector
INSPECTOR_STAMP := $(INSPECTOR_DIR)/node_modules/.installed
# The node that runs the Inspector: the system's when it is new enough.
INSPECTOR_NODE ?= $(shell node -e 'const [a, b] = process.versions.node.split(".").map(Number), [x, y] = "$(INSPECTOR_NODE_MIN)".split(".").map(Number); process.exit(a > x || (a === x && b >= y) ? 0 : 1)' 2>/dev/null \
	&& command -v node || echo $(NODE22_DIR)/bin/node)

.PHONY: inspector node22 print-inspector-node print-python-mcp

inspector: $(INSPECTOR_STAMP)

# Unpacks bin/node of the pinned package (npm pack checks the registry's
# integrity; the pinned one is checked too) into $(NODE22_DIR).
node22:
	@if [[ "$(INSPECTOR_NODE)" == "$(NODE22_DIR)/bin/node" && "$$($(NODE22_DIR)/bin/node --version 2>/dev/null)" != "v$(NODE22_VERSION)" ]]; then \
	  [[ -n "$(NODE22_INTEGRITY_$(NODE22_ARCH))" ]] || { echo "no pinned Node $(NODE22_VERSION) for $$(uname -m): install Node >= $(INSPECTOR_NODE_MIN)" >&2; exit 1; }; \
	  echo "==> node-linux-$(NODE22_ARCH)@$(NODE22_VERSION) from the npm registry into $(NODE22_DIR) (for the MCP Inspector)" >&2; \
	  tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  (cd "$$tmp" && npm pack --silent node-linux-$(NODE22_ARCH)@$(NODE22_VERSION) >/dev/null); \
	  tgz=$$(ls "$$tmp"/*.tgz); \
	  got=$$(node -e 'const c = require("crypto"), fs = require("fs"); console.log("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$$tgz"); \
	  [[ "$$got" == "$(NODE22_INTEGRITY_$(NODE22_ARCH))" ]] || { echo "integrity mismatch for $$tgz: $$got" >&2; exit 1; }; \
	  mkdir -p "$$tmp/x" && tar -xzf "$$tgz" -C "$$tmp/x" --strip-components=1 package/bin/node package/LICENSE; \
	  "$$tmp/x/bin/node" --version >/dev/null; \
	  mkdir -p $(TOOLS_DIR) && rm -rf $(NODE22_DIR) && mv "$$tmp/x" $(NODE22_DIR); \
	fi

print-inspector-node:
	@echo $(INSPECTOR_NODE)

# npm is the system's, run by the Inspector's node (npm's `#!/usr/bin/env node`).
$(INSPECTOR_STAMP): $(INSPECTOR_DIR)/package.json $(INSPECTOR_DIR)/package-lock.json | node22
	@echo "==> npm ci in $(INSPECTOR_DIR) (MCP Inspector, with $(INSPECTOR_NODE))" >&2
	PATH="$(dir $(INSPECTOR_NODE)):$$PATH" npm ci --prefix $(INSPECTOR_DIR) --no-audit --no-fund --loglevel=error >&2
	@touch $@

# ---------------------------------------------------------------- build

build: tools-build build-worker

# What wrangler's [build] command runs (also from `wrangler dev` in the e2e
# tests): a no-op taking milliseconds when build/ is up to date. It must not
# run `npm ci` (wrangler itself runs from node_modules).
# One build at a time per checkout (scripts/locked.sh); once it holds the
# lock, make looks at the files again, so a build that waited for another
# one finds its work done.
build-worker:
	@bash $(ROOT)/scripts/locked.sh $(WORKER_STAGE).lock $(MAKE) -s --no-print-directory \
	  -f $(abspath $(firstword $(MAKEFILE_LIST))) worker-files

worker-files: $(WORKER_OUT)

$(WORKER_OUT) &: $(WORKER_INPUTS)
	@[[ -x "$(WASM_OPT_BIN)" && -x "$(ESBUILD_BIN)" ]] || { echo "node_modules missing: run 'make tools'" >&2; exit 1; }
	@echo "==> worker-build --release (wasm-bindgen $(WASM_BINDGEN_VERSION))"
	@# Outputs get the build's *start* time, so a source edited during the build
	@# is newer than them and triggers the next rebuild. worker-build empties
	@# its output directory first: it builds in $(WORKER_STAGE), and build/ is
	@# replaced only by a build that succeeded (a compile error under `make dev`
	@# leaves the running worker's files in place).
	started=$$(date +%s.%N); \
	WASM_BINDGEN_BIN="$$(if [[ "$$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $(WASM_BINDGEN_VERSION)"* ]]; \
	    then command -v wasm-bindgen; else echo $(WASM_BINDGEN_ROOT)/bin/wasm-bindgen; fi)" \
	  $(WORKER_BUILD) --release --out-dir $(WORKER_STAGE) --no-default-features --features worker-entry,grants-object; \
	$(WORKER_OPT) $(WORKER_STAGE)/index_bg.wasm -o $(WORKER_STAGE)/index_bg.wasm; \
	cp src/workers/shim.mjs $(WORKER_STAGE)/worker/shim.mjs; \
	bash $(ROOT)/scripts/publish-build.sh $(WORKER_STAGE) build; \
	touch -d "@$$started" $(WORKER_OUT)

rebuild:
	rm -rf build
	$(MAKE) build

# ---------------------------------------------------------------- dev

# Two `make dev`s started at once (two configurations, or dev and dev-peer) both
# find no .dev.vars; the one that loses the race finds it made by the other.
dev-vars:
	@[[ -f .dev.vars ]] || { cp .dev.vars.example .dev.vars 2>/dev/null && echo "==> created .dev.vars from .dev.vars.example"; } \
	  || [[ -f .dev.vars ]] || { echo "could not create .dev.vars from .dev.vars.example (is it there?)" >&2; exit 1; }

PORT ?= 8787
INSPECTOR_PORT ?= 9229
# INSPECTOR_PORT unset: 9229 for the default PORT unless taken, else a free port
# (a second `make dev` with its own PORT; scripts/dev.mjs picks it).
INSPECTOR_FALLBACK = $(if $(filter file,$(origin INSPECTOR_PORT)),$(if $(filter file,$(origin PORT)),--inspector-fallback,--inspector-any))
STATE_DIR ?= .wrangler/state
# Variables of this Makefile that a command line may set: never sent to the worker.
MAKE_KNOBS := PORT INSPECTOR_PORT STATE_DIR RESOURCE TOOLS_DIR CHROMIUM E2E_CONCURRENCY E2E_SKIP_BUILD CI \
	INSPECTOR_NODE WASM_OPT_BIN ESBUILD_BIN WASM_BINDGEN_BIN WORKER_BUILD CLOUDFLARE_CF_FETCH_ENABLED
# The variables given on make's command line, minus the knobs; the recipe keeps
# the UPPER_SNAKE_CASE ones and reads their values from its environment (make
# exports command-line variables), so no value is ever re-parsed by the shell.
DEV_VAR_NAMES = $(sort $(filter-out $(MAKE_KNOBS),$(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))))
# Bash: fills the array `vars` with `--var NAME:value` for each of them.
define collect_dev_vars
vars=(); for name in $(DEV_VAR_NAMES); do \
  if [[ $$name =~ ^[A-Z][A-Z0-9_]*$$ ]]; then vars+=(--var "$$name:$${!name}"); fi; \
done
endef

# The page templates the build compiles in (what `make dev` watches, besides src/).
comma := ,
empty :=
space := $(empty) $(empty)
TEMPLATES := $(subst $(space),$(comma),$(wildcard assets/*.html))

dev: build dev-vars
	@$(collect_dev_vars); \
	cmd=(node scripts/dev.mjs --watch src,$(TEMPLATES),Cargo.toml,Cargo.lock $(INSPECTOR_FALLBACK) -- \
	  --ip 127.0.0.1 --port $(PORT) --inspector-port $(INSPECTOR_PORT) \
	  --local --persist-to $(STATE_DIR) "$${vars[@]}"); \
	echo "$${cmd[*]}" | sed -E 's/(SECRET(_PREVIOUS)?:)[^ ]+/\1[redacted]/g'; \
	exec "$${cmd[@]}"

# ---------------------------------------------------------------- test

test: test-rust test-e2e

test-rust:
	cargo test
	$(MAKE) -C examples/mcp-server test

# The example MCP server is built once here, before the tests that run it in
# parallel (mcp-server.test.mjs, inspector.test.mjs) each ask for it.
build-example: tools-build
	$(MAKE) -C examples/mcp-server build-worker

# bench-deps: the peer and the original, whose Workers tests/e2e/bench.test.mjs
# runs bench/probes/dev-ratios.py's flows against.
test-e2e: tools-test build build-example dev-vars bench-deps
	INSPECTOR_NODE=$(INSPECTOR_NODE) node --test --test-concurrency=$${E2E_CONCURRENCY:-2} tests/e2e/

# The key one MCP server opens its sealed tokens with: `make resource-key
# RESOURCE=https://mcp.example.com/mcp` prints it (base64url) as the last line,
# from SECRET in the environment or in .dev.vars. Store it in the MCP server
# with `wrangler secret put RESOURCE_KEY`.
.PHONY: resource-key
resource-key: dev-vars
	@[[ -n "$(RESOURCE)" ]] || { echo "usage: make resource-key RESOURCE=<the MCP server's resource URI>" >&2; exit 2; }
	@cargo run --quiet --example resource_key -- "$(RESOURCE)"

clean:
	rm -rf build .wrangler .wrangler-e2e-*.toml target/consent-page*.png examples/mcp-server/build examples/mcp-server/.wrangler \
	  $(INSPECTOR_DIR)/node_modules

# ---------------------------------------------------------------- performance
#   make bench  native micro-benchmarks, size, then the worker in workerd (passthrough,
#               and sealed with the example MCP server opening its tokens) against
#               its floors, the best peer (npm @cloudflare/workers-oauth-provider@1.2.3)
#               and the original (npm parallel-oauth-provider@0.0.13);
#               results in target/bench/ (see bench/run.mjs for BENCH_* settings)
#   make size   size of build/ and what takes the bytes (installs twiggy if missing)

.PHONY: bench bench-deps size size-check
BENCH_NPM_STAMP := bench/node_modules/.installed

bench-deps: $(BENCH_NPM_STAMP)

$(BENCH_NPM_STAMP): bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund --loglevel=error
	@touch $@

# The two Workers `make bench` compares ours with, under `wrangler dev --local` as
# `make dev` runs ours, for a load generator of your own (one session, one machine):
#   make dev-peer       @cloudflare/workers-oauth-provider 1.2.3 doing our job
#                       (bench/peer/worker.mjs says its routes), on 127.0.0.1:8791
#   make dev-original   the JavaScript original, parallel-oauth-provider 0.0.13, on 8792
# PORT=... and INSPECTOR_PORT=... (9231, 9232) move them; local KV under .wrangler/state-peer and
# .wrangler/state-original.
.PHONY: dev-peer dev-original
dev-peer: BENCH_DEV = peer
dev-peer: BENCH_DEV_PORT = 8791
dev-peer: BENCH_DEV_INSPECTOR = 9231
dev-original: BENCH_DEV = original
dev-original: BENCH_DEV_PORT = 8792
dev-original: BENCH_DEV_INSPECTOR = 9232
dev-peer dev-original: $(NPM_STAMP) bench-deps
	@cmd=(node_modules/.bin/wrangler dev -c bench/$(BENCH_DEV)/wrangler.toml --local \
	  --ip 127.0.0.1 --port $(if $(filter command line,$(origin PORT)),$(PORT),$(BENCH_DEV_PORT)) \
	  --inspector-port $(if $(filter command line,$(origin INSPECTOR_PORT)),$(INSPECTOR_PORT),$(BENCH_DEV_INSPECTOR)) \
	  --persist-to .wrangler/state-$(BENCH_DEV)); \
	echo "$${cmd[*]}"; \
	exec "$${cmd[@]}"

bench: build build-example bench-deps
	cargo bench --bench core
	node scripts/size-report.mjs
	node bench/run.mjs

size: build
	@command -v twiggy >/dev/null || cargo install twiggy
	node scripts/size-report.mjs --breakdown

# Fails when the gzipped WASM is over its budget (scripts/size-report.mjs).
size-check: build
	node scripts/size-report.mjs --check

test: size-check
