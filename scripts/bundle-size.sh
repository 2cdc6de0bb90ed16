#!/usr/bin/env bash
# The first-load size of the app as a phone downloads it: wasm + js + css. The server sends a
# file's brotli twin (written by `cargo leptos build --precompress`) to browsers that accept br,
# and gzip otherwise; both are shown. Usage: scripts/bundle-size.sh target/site/pkg
set -euo pipefail
dir=${1:-target/site/pkg}
total_gz=0
total_br=0
printf '%-28s %9s  %9s  %9s\n' file raw gzip-9 brotli
for f in "$dir"/*.wasm "$dir"/*.js "$dir"/*.css; do
  [ -f "$f" ] || continue
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  if [ -f "$f.br" ]; then br=$(stat -c %s "$f.br"); else br=$gz; fi
  total_gz=$((total_gz + gz))
  total_br=$((total_br + br))
  printf '%-28s %9d  %9d  %9d\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
printf '%-28s %9s  %9d  %9d   first load, bytes\n' "total" "" "$total_gz" "$total_br"
printf 'first load as sent to a browser that accepts br: %d bytes (%d KB)\n' "$total_br" $((total_br / 1024))
