#!/usr/bin/env bash
# Where the first load goes: builds the committed app four times in a scratch worktree, each time
# with one more part taken out of the main chunk, and prints the first load (gzip -9 of the main
# wasm, its js and the css, as scripts/bundle-size.sh counts it) after each step. The difference
# between two lines is what that part costs the first load; the last line is what Leptos's
# router, the sign-in page and the HTML shell cost with nothing of Fieldclose's own work in it.
#   1. the app as committed
#   2. without the /today route (the technician's first screen: its list and search)
#   3. also without the sync engine (IndexedDB, the outbox, push and pull, the sync badge's state)
#   4. also without the lazy pages (each page's own chunk stays out of the first load, but the
#      split itself costs the main chunk: the loader, and every chunk's read-only data)
# The removals are text edits of app/src/ui/mod.rs; each step fails loudly if its edit no longer
# applies. Takes about 15 minutes on 2 cores (the first run also builds its own cache, about 10
# more). Usage: scripts/bundle-floor.sh
#
# With --csr it instead builds the committed app once as a client-rendered Leptos app (leptos's
# `csr` feature instead of `hydrate`, mounted instead of hydrated): what dropping server rendering
# and hydration would save. Only a measurement: the server still renders the pages.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# A target dir of its own: cargo decides a path crate is fresh by comparing its files' mtimes
# with the build's, by paths relative to the workspace, so a scratch copy built in the project's
# own target dir would leave its edited build looking fresh to the real checkout.
csr=false
if [ "${1:-}" = --csr ]; then csr=true; fi
export CARGO_TARGET_DIR=$HOME/.cache/fieldclose/target-floor
if $csr; then CARGO_TARGET_DIR=$HOME/.cache/fieldclose/target-floor-csr; fi # other features
scratch=$(mktemp -d)
trap 'git worktree remove --force "$scratch" >/dev/null 2>&1 || true' EXIT
git worktree add --quiet --detach "$scratch" HEAD

first_load() { # label
  (cd "$scratch" && cargo leptos build --release --split --frontend-only >"$scratch/build.log" 2>&1) ||
    { tail -30 "$scratch/build.log"; exit 1; }
  local total
  total=$(scripts/bundle-size.sh "$scratch/target/site/pkg" | awk '$1 == "total" { print $2 }')
  printf '%-62s %8d bytes gzip-9\n' "$1" "$total"
}

# Replaces, in one file of the scratch copy, the text from `start` (inclusive) to `end`
# (exclusive; just `start` itself when `end` is empty) with `with`.
edit() { # file start end with
  python3 - "$scratch/$1" "$2" "$3" "$4" <<'EOF'
import sys
path, start, end, new = sys.argv[1:5]
s = open(path).read()
a = s.find(start)
if a < 0:
    sys.exit(f"bundle-floor: {path} no longer has {start!r}; update this script")
b = s.find(end, a) if end else a + len(start)
if b < 0:
    sys.exit(f"bundle-floor: {path} no longer has {end!r} after {start!r}")
open(path, "w").write(s[:a] + new + s[b:])
EOF
}
cut() { edit app/src/ui/mod.rs "$1" "${2:-}" ''; } # start [end]

if $csr; then
  edit app/Cargo.toml '"leptos/hydrate"' '' '"leptos/csr"'
  edit frontend/Cargo.toml 'leptos = { workspace = true, features = ["hydrate"] }' '' \
    'leptos = { workspace = true, features = ["csr"] }'
  edit frontend/src/lib.rs 'wasm_bindgen_futures::spawn_local(async {' $'\n}' \
    'let body = leptos::prelude::document().body().expect("the page has a body");
    leptos::mount::mount_to_body(app::App);
    let _ = body.set_attribute("data-hydrated", "true");'
  first_load "client-rendered (csr), as committed otherwise"
  exit 0
fi

first_load "1. as committed"
cut '<Route path=path!("/today")' '<Route path=path!("/new")'
first_load "2. without the /today page"
cut 'sync_state::provide_sync();'
first_load "3. also without the sync engine"
cut '<Route path=path!("/new")' '</Routes>'
cut 'lazy_pages! {' '/// The pages in the main chunk'
cut '/// Loads the chunks of the pages' '#[cfg(test)]'
cut 'leptos::task::spawn_local(preload_pages(me.role));'
first_load "4. also without the lazy pages: the framework, sign-in, shell"
