#!/usr/bin/env bash
# The first-load size of the app as a phone downloads it: wasm + js + css, gzipped (the server
# compresses with gzip). Usage: scripts/bundle-size.sh target/site/pkg
set -euo pipefail
dir=${1:-target/site/pkg}
total=0
for f in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  total=$((total + gz))
  printf '%-28s %9d bytes  %8d gzipped\n' "$(basename "$f")" "$raw" "$gz"
done
printf '%-28s %9s        %8d gzipped (%d KB)\n' "first load" "" "$total" $((total / 1024))
