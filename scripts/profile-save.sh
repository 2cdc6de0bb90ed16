#!/usr/bin/env bash
# A CPU profile of `make bench-save`'s offline saves with Rust function names: the release
# bundle's wasm-opt drops the wasm name section, so this serves the same build bound again
# without it for one run, then puts the real bundle back. Run after `make build`:
#   scripts/profile-save.sh [out.cpuprofile]      then: node scripts/profile-top.mjs out.cpuprofile
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-/tmp/save.cpuprofile}")
target=${CARGO_TARGET_DIR:-$HOME/.cache/fieldclose/target}
work=$(mktemp -d)
trap 'rm -rf target/site/pkg && mv "$work/pkg" target/site/pkg; rm -rf "$work"' EXIT
wasm-bindgen --target web --out-name fieldclose --out-dir "$work/named" \
  "$target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm"
cp -a target/site/pkg "$work/pkg"
rm -f target/site/pkg/fieldclose.wasm.* target/site/pkg/fieldclose.js.*
cp "$work/named/fieldclose_bg.wasm" target/site/pkg/fieldclose.wasm
cp "$work/named/fieldclose.js" target/site/pkg/fieldclose.js
url=$(scripts/ensure-postgres.sh)
export DATABASE_URL=${url%/*}/fieldclose_e2e LEPTOS_SITE_ROOT=$PWD/target/site FIELDCLOSE_BIN=$target/release/server
"$FIELDCLOSE_BIN" seed-demo
(cd end2end && BENCH_PROFILE=$out npx playwright test --config bench.config.ts)
