# parallel-oauth-provider — build, run and test.
#
#   make dev    run the worker locally (wrangler dev + local KV) on 127.0.0.1:$PORT (default 8787)
#   make test   cargo test (native) + end-to-end tests against the worker in workerd
#   make build  build the worker (worker-build --release) into build/
#   make tools  install whatever is missing (wasm32 target, worker-build, wasm-bindgen-cli, npm deps)
#
# Everything is installed from package registries only (crates.io, npm, apt):
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
export ESBUILD_BIN := $(ROOT)/node_modules/.bin/esbuild
# No telemetry; wrangler's logs stay in the repo's .wrangler/.
export WRANGLER_SEND_METRICS := false
export WRANGLER_LOG_PATH := $(ROOT)/.wrangler/logs

# Cargo writes the files the wasm build read (including include_str! templates)
# to this dep-info file; it decides whether build/ is up to date. Before the
# first build, fall back to every file under src/ and assets/.
DEPFILE := target/wasm32-unknown-unknown/release/parallel_oauth_provider.d
WORKER_INPUTS := Cargo.toml Cargo.lock $(sort $(wildcard $(shell \
	if [[ -f $(DEPFILE) ]]; then \
	  grep -m1 '\.wasm:' $(DEPFILE) | sed -e 's/^[^:]*: *//' | tr ' ' '\n' | grep -v '^$$' | sed 's|^$(ROOT)/||'; \
	else find src assets -type f 2>/dev/null; fi)))
WORKER_OUT := build/worker/shim.mjs build/index.js build/index_bg.wasm

.PHONY: help tools tools-build tools-test rust-tools wasm-target worker-build-bin wasm-bindgen-bin \
        npm chromium build build-worker rebuild dev dev-vars test test-rust test-e2e clean

help:
	@echo "make dev | make test | make build | make tools | make bench | make size | make clean"

# ---------------------------------------------------------------- tools

tools: tools-test

tools-build: rust-tools npm
tools-test: tools-build chromium

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

# ---------------------------------------------------------------- build

build: tools-build build-worker

# What wrangler's [build] command runs (also from `wrangler dev` in the e2e
# tests): a no-op taking milliseconds when build/ is up to date. It must not
# run `npm ci` (wrangler itself runs from node_modules).
build-worker: $(WORKER_OUT)

$(WORKER_OUT) &: $(WORKER_INPUTS)
	@[[ -x "$(WASM_OPT_BIN)" && -x "$(ESBUILD_BIN)" ]] || { echo "node_modules missing: run 'make tools'" >&2; exit 1; }
	@echo "==> worker-build --release (wasm-bindgen $(WASM_BINDGEN_VERSION))"
	@# Outputs get the build's *start* time, so a source edited during the build
	@# is newer than them and triggers the next rebuild.
	started=$$(date +%s.%N); \
	WASM_BINDGEN_BIN="$$(if [[ "$$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $(WASM_BINDGEN_VERSION)"* ]]; \
	    then command -v wasm-bindgen; else echo $(WASM_BINDGEN_ROOT)/bin/wasm-bindgen; fi)" \
	  worker-build --release; \
	touch -d "@$$started" $(WORKER_OUT)

rebuild:
	rm -rf build
	$(MAKE) build

# ---------------------------------------------------------------- dev

dev-vars:
	@[[ -f .dev.vars ]] || { cp .dev.vars.example .dev.vars; echo "==> created .dev.vars from .dev.vars.example"; }

dev: build dev-vars
	npx --no-install wrangler dev --ip 127.0.0.1 --port $${PORT:-8787} --local --persist-to .wrangler/state

# ---------------------------------------------------------------- test

test: test-rust test-e2e

test-rust:
	cargo test
	$(MAKE) -C examples/mcp-server test

test-e2e: tools-test build dev-vars
	node --test --test-concurrency=$${E2E_CONCURRENCY:-2} tests/e2e/

clean:
	rm -rf build .wrangler .wrangler-e2e-*.toml target/consent-page*.png examples/mcp-server/build examples/mcp-server/.wrangler

# ---------------------------------------------------------------- performance
#   make bench  native micro-benchmarks, size, then the worker in workerd against
#               its floor and the original (npm parallel-oauth-provider@0.0.13);
#               results in target/bench/ (see bench/run.mjs for BENCH_* settings)
#   make size   size of build/ and what takes the bytes (installs twiggy if missing)

.PHONY: bench bench-deps size size-check
BENCH_NPM_STAMP := bench/node_modules/.installed

bench-deps: $(BENCH_NPM_STAMP)

$(BENCH_NPM_STAMP): bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund --loglevel=error
	@touch $@

bench: build bench-deps
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
