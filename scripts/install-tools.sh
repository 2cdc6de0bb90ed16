#!/usr/bin/env bash
# Installs what building Fieldclose needs — only what is missing or at the wrong version:
# the wasm32 target, cargo-leptos 0.3.10, wasm-bindgen-cli at the version Cargo.lock pins,
# and a wasm-opt that does not corrupt the bundle (binaryen 132 from npm; Debian's 108 does).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

LEPTOS_VERSION=0.3.10 # 0.3.11 needs rustc >= 1.96
if ! cargo leptos --version 2>/dev/null | grep -q " $LEPTOS_VERSION"; then
  say "installing cargo-leptos $LEPTOS_VERSION (about 20 minutes on 2 cores, once)"
  # no_downloads: use wasm-bindgen and wasm-opt from PATH; this machine cannot download them.
  # Its own temporary target dir: not the project's (which a build may hold locked).
  env -u CARGO_TARGET_DIR cargo install cargo-leptos --version "$LEPTOS_VERSION" --locked --features no_downloads
fi

WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  say "installing wasm-bindgen-cli $WB_VERSION (matches Cargo.lock)"
  # No --locked: one of its locked dependencies is yanked.
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

# sqlx-cli: checks and rewrites the compile-time-checked queries' cache (server/.sqlx).
SQLX_VERSION=$(awk '/^name = "sqlx"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! cargo sqlx --version 2>/dev/null | grep -q " $SQLX_VERSION\$"; then
  say "installing sqlx-cli $SQLX_VERSION (matches Cargo.lock; a few minutes, once)"
  env -u CARGO_TARGET_DIR cargo install sqlx-cli --version "$SQLX_VERSION" --locked \
    --no-default-features --features postgres,rustls
fi

# cargo-deny: licences, duplicate and banned crates, and sources (deny.toml).
DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -q " $DENY_VERSION\$"; then
  say "installing cargo-deny $DENY_VERSION (a few minutes, once)"
  env -u CARGO_TARGET_DIR cargo install cargo-deny --version "$DENY_VERSION" --locked
fi

if ! wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
  say "installing wasm-opt (binaryen 132 from npm)"
  npm install -g binaryen@132
fi

# moto: a local S3-compatible server (PyPI) that the S3 blob tests start (tests/api/blobs_s3.rs).
MOTO_VERSION=5.2.1
if ! python3 -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  say "installing moto $MOTO_VERSION (the S3 blob tests' server)"
  python3 -m pip install --quiet --user "moto[server]==$MOTO_VERSION"
fi
