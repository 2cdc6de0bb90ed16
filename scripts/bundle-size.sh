#!/usr/bin/env bash
# The first-load size of the app as a phone downloads it: the main wasm, its js (and the split
# loader's), and the css. The pages built as lazy routes (`app::ui`, `cargo leptos build
# --split`) are their own chunks, fetched when first opened and precached by the service worker
# meanwhile; they are listed after, by page. The server sends a file's brotli twin (written by
# `--precompress`) to browsers that accept br, and gzip otherwise; both are shown.
# Usage: scripts/bundle-size.sh target/site/pkg
set -euo pipefail
dir=${1:-target/site/pkg}
sizes() { # file -> "raw gzip brotli"
  local raw gz br
  raw=$(stat -c %s "$1")
  gz=$(gzip -9 -c "$1" | wc -c)
  if [ -f "$1.br" ]; then br=$(stat -c %s "$1.br"); else br=$gz; fi
  echo "$raw $gz $br"
}
total_gz=0
total_br=0
printf '%-28s %9s  %9s  %9s\n' file raw gzip-9 brotli
for f in "$dir"/fieldclose.wasm "$dir"/fieldclose.js "$dir"/__wasm_split*.js "$dir"/fieldclose.css; do
  [ -f "$f" ] || continue
  read -r raw gz br < <(sizes "$f")
  total_gz=$((total_gz + gz))
  total_br=$((total_br + br))
  printf '%-28s %9d  %9d  %9d\n' "$(basename "$f" | cut -c1-28)" "$raw" "$gz" "$br"
done
printf '%-28s %9s  %9d  %9d   first load, bytes\n' "total" "" "$total_gz" "$total_br"
printf 'first load as sent to a browser that accepts br: %d bytes (%d KB)\n' "$total_br" $((total_br / 1024))

# Each lazy page's own chunk, and the shared chunks all pages split out (fetched as needed).
lazy_gz=0
lazy_br=0
for f in "$dir"/split_*.wasm "$dir"/chunk_*.wasm; do
  [ -f "$f" ] || continue
  read -r raw gz br < <(sizes "$f")
  lazy_gz=$((lazy_gz + gz))
  lazy_br=$((lazy_br + br))
  case "$(basename "$f")" in
    split___*) page=$(basename "$f" | sed -E 's/^split___(.*)_page_view_.*$/\1/')
               printf '  page %-22s %9d  %9d  %9d\n' "$page" "$raw" "$gz" "$br" ;;
  esac
done
if [ "$lazy_gz" -gt 0 ]; then
  printf 'all lazy pages and their shared chunks: %d bytes gzip-9, %d brotli (fetched after the first screen)\n' \
    "$lazy_gz" "$lazy_br"
fi
