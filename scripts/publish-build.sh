#!/usr/bin/env bash
# Moves a finished worker-build output (STAGE: index_bg.wasm, index.js,
# package.json, worker/shim.mjs) into OUT, each file renamed into place, the
# WASM first and the entry last, so that a `wrangler dev` watching OUT never
# sees it half empty or a new entry beside an old WASM for long.
#
#   bash scripts/publish-build.sh target/worker-build build
set -euo pipefail
stage=$1
out=$2
mkdir -p "$out/worker"
for f in index_bg.wasm index.js package.json worker/shim.mjs; do
  [[ -f "$stage/$f" ]] || { echo "publish-build: $stage/$f missing" >&2; exit 1; }
done
for f in index_bg.wasm index.js package.json worker/shim.mjs; do
  cp "$stage/$f" "$out/$f.new"
  mv -f "$out/$f.new" "$out/$f"
done
