#!/usr/bin/env bash
# Runs a command holding LOCK (flock), so that builds started at once (two
# `make dev` rebuilding after one save, or `make test` beside a `make dev`)
# run one after the other instead of writing the same staging directory
# together. Without flock (not on macOS by default) the command runs as is.
#
#   bash scripts/locked.sh target/worker-build.lock make -s worker-files
set -euo pipefail
lock=$1
shift
if command -v flock >/dev/null; then
  mkdir -p "$(dirname "$lock")"
  exec flock "$lock" "$@"
fi
exec "$@"
