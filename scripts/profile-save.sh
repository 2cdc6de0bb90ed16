#!/usr/bin/env bash
# A CPU profile of `make bench-save`'s offline saves with Rust function names: builds the bundle
# once with wasm-opt keeping the name section (-g), runs the bench with BENCH_PROFILE, then
# puts the real bundle back. Run after `make build`:
#   scripts/profile-save.sh [out.cpuprofile]      then: node scripts/profile-top.mjs out.cpuprofile
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
out=$(realpath -m "${1:-/tmp/save.cpuprofile}")
target=${CARGO_TARGET_DIR:-$HOME/.cache/fieldclose/target}
export CARGO_TARGET_DIR=$target
work=$(mktemp -d)
cp -a target/site/pkg "$work/pkg"
trap 'rm -rf target/site/pkg && mv "$work/pkg" target/site/pkg; rm -rf "$work"' EXIT
LEPTOS_WASM_OPT_FEATURES="-Oz,--enable-bulk-memory,--enable-nontrapping-float-to-int,-g" \
  cargo leptos build --release --split
url=$(scripts/ensure-postgres.sh)
export DATABASE_URL=${url%/*}/fieldclose_e2e LEPTOS_SITE_ROOT=$PWD/target/site FIELDCLOSE_BIN=$target/release/server
"$FIELDCLOSE_BIN" seed-demo
(cd end2end && BENCH_PROFILE=$out npx playwright test --config bench.config.ts)
