#!/usr/bin/env bash
# The worker's build as `make build` makes it, but with the WASM's name
# section kept (Cargo's strip off, wasm-opt -g), into target/named/build: the
# same code (names change no optimization decision), for
# `node bench/probes/first-request.mjs target/named/build --names`.
# The committed tree (git archive HEAD plus uncommitted changes to tracked
# files, via git stash create) is copied to target/named/src; Cargo builds in
# target/named/cargo, apart from build/ and target/wasm32-unknown-unknown.
#
#   bash bench/probes/named-build.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/target/named
rm -rf "$out/src" "$out/build"
mkdir -p "$out/src"
rev=$(git -C "$root" stash create)
git -C "$root" archive "${rev:-HEAD}" | tar -x -C "$out/src"
cat > "$out/wasm-opt" <<WRAP
#!/usr/bin/env bash
exec "$root/node_modules/.bin/wasm-opt" -g "\$@"
WRAP
chmod +x "$out/wasm-opt"
ln -sfn "$root/node_modules" "$out/src/node_modules"
cd "$out/src"
CARGO_TARGET_DIR=$out/cargo CARGO_PROFILE_RELEASE_STRIP=false \
  make -s build-worker WASM_OPT_BIN="$out/wasm-opt"
mv "$out/src/build" "$out/build"
echo "named build: $out/build ($(wc -c < "$out/build/index_bg.wasm") B of WASM)"
